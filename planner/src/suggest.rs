//! "Did you mean …?": the one algorithm for every misspelt name, keys of the
//! format and names of services and APIs alike.

/// The candidate closest to `text`, if one is close enough.
///
/// Names are compared without case, `-` and `_`. A candidate is close when
/// one name starts with the other, or when their Levenshtein distance
/// (strsim) is at most `max_edits`; the smallest distance wins, then the
/// first name in sort order. `text` itself is never suggested.
pub(crate) fn closest<'a, I>(text: &str, candidates: I, max_edits: usize) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let wanted = normalise(text);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != text)
        .filter_map(|candidate| {
            let other = normalise(candidate);
            let distance = if other.starts_with(&wanted) || wanted.starts_with(&other) {
                0
            } else {
                strsim::levenshtein(&wanted, &other)
            };
            (distance <= max_edits).then_some((distance, candidate))
        })
        .min()
        .map(|(_, candidate)| candidate)
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let keys = ["current", "target", "releases", "deploy"];
        assert_eq!(closest("relases", keys, 2), Some("releases"));
        assert_eq!(closest("zzz", keys, 2), None);
        let names = ["payments", "payments-api", "orders"];
        // A prefix counts, and the first name in sort order wins a tie.
        assert_eq!(closest("payments_api", names, 0), Some("payments"));
        assert_eq!(
            closest("payments_api", ["payments-api"], 0),
            Some("payments-api")
        );
        assert_eq!(closest("order", names, 0), Some("orders"));
        assert_eq!(closest("payment-api", names, 0), None);
        assert_eq!(closest("orders", names, 0), None);
    }
}
