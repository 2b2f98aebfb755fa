//! "Did you mean …?": the one algorithm for every misspelt name, keys of the
//! format, names of services and APIs, and release versions alike, in the
//! matrix and on the command line.

use semver::Version;

/// Edits allowed between a misspelt name (key, service, API) and a suggestion.
pub(crate) const NAME_EDITS: usize = 2;

/// Edits allowed between a version and a suggested release: one digit.
pub(crate) const VERSION_EDITS: usize = 1;

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

/// The name (service or API) closest to `text`, in the words of a hint.
pub(crate) fn did_you_mean<'a, I>(text: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    closest(text, candidates, NAME_EDITS).map(|close| format!("did you mean `{close}`?"))
}

/// The release closest to the version `text` (one digit apart), in the words of a hint.
pub(crate) fn did_you_mean_release<'a, I>(text: &str, releases: I) -> Option<String>
where
    I: IntoIterator<Item = &'a Version>,
{
    let releases: Vec<String> = releases.into_iter().map(ToString::to_string).collect();
    closest(text, releases.iter().map(String::as_str), VERSION_EDITS)
        .map(|close| format!("did you mean `{close}`?"))
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
        assert_eq!(
            did_you_mean("payment-api", names).as_deref(),
            Some("did you mean `payments-api`?")
        );
        let releases = [Version::new(1, 0, 0), Version::new(2, 0, 0)];
        assert_eq!(
            did_you_mean_release("2.0.1", &releases).as_deref(),
            Some("did you mean `2.0.0`?")
        );
        assert_eq!(did_you_mean_release("3.1.0", &releases), None);
    }
}
