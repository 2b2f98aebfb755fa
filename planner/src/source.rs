//! The text of a matrix file and the mapping between byte offsets and
//! 1-based line/column positions.

use std::borrow::Cow;
use std::sync::Arc;

/// A source file held in memory: its display path and its text.
///
/// Cheap to clone: the text is shared.
#[derive(Clone, Debug)]
pub struct SourceFile {
    path: Arc<str>,
    text: Arc<str>,
    line_starts: Arc<[usize]>,
}

impl SourceFile {
    /// Wraps text read from `path` (the path is only used for display).
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let text: String = text.into();
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path: Arc::from(path.into()),
            text: Arc::from(text),
            line_starts: Arc::from(line_starts),
        }
    }

    /// The path as given by the user.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The byte offset of a 1-based line and character column, clamped to the text.
    pub fn offset_of(&self, line: u32, column: u32) -> usize {
        let line_index = (line.max(1) as usize - 1).min(self.line_starts.len() - 1);
        let start = self.line_starts[line_index];
        let rest = &self.text[start..];
        let line_text = rest.split('\n').next().unwrap_or("");
        let chars = column.max(1) as usize - 1;
        start
            + line_text
                .char_indices()
                .nth(chars)
                .map_or(line_text.len(), |(i, _)| i)
    }

    /// The 1-based line and character column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let line_index = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line_index];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line_index as u32 + 1, column as u32 + 1)
    }

    /// The text as it may be shown in snippets: the password of every URL
    /// (`scheme://user:PASSWORD@host`) replaced by as many `*` as it has
    /// bytes, so that positions stay valid and no password is ever printed.
    pub fn display_text(&self) -> Cow<'_, str> {
        hide_url_passwords(&self.text)
    }

    /// The text at `offset..offset+len`, when that is a valid range.
    pub fn slice(&self, offset: usize, len: usize) -> Option<&str> {
        self.text.get(offset..offset.checked_add(len)?)
    }
}

/// `text` with the password in every `scheme://user:password@host` replaced
/// by `*`, byte for byte.
fn hide_url_passwords(text: &str) -> Cow<'_, str> {
    let mut hidden: Option<Vec<u8>> = None;
    for (start, _) in text.match_indices("://") {
        let authority_start = start + 3;
        let rest = &text[authority_start..];
        let authority_len = rest
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '`' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        let Some(colon) = authority[..at].find(':') else {
            continue;
        };
        let bytes = hidden.get_or_insert_with(|| text.as_bytes().to_vec());
        for byte in &mut bytes[authority_start + colon + 1..authority_start + at] {
            *byte = b'*';
        }
    }
    match hidden {
        None => Cow::Borrowed(text),
        // Only whole characters between ASCII `:` and `@` were replaced.
        Some(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_positions_round_trip() {
        let file = SourceFile::new("m.yaml", "ab\ncé d\n\nx");
        // `é` is two bytes, so the third character of line 2 starts at byte 6.
        assert_eq!(file.offset_of(2, 3), 6);
        assert_eq!(file.line_column(6), (2, 3));
        assert_eq!(file.line_column(0), (1, 1));
        assert_eq!(file.offset_of(4, 1), 10);
        assert_eq!(file.offset_of(99, 99), 11);
    }

    #[test]
    fn url_passwords_are_hidden_byte_for_byte() {
        let file = SourceFile::new(
            "m.yaml",
            "a: https://user:s3cré@host/x\nb: http://host:80/x@y\nc: 'ftp://u:p@h'\n",
        );
        let shown = file.display_text();
        assert_eq!(
            shown,
            "a: https://user:******@host/x\nb: http://host:80/x@y\nc: 'ftp://u:*@h'\n"
        );
        assert_eq!(shown.len(), file.text().len());
        let plain = SourceFile::new("m.yaml", "a: https://host/x\n");
        assert!(matches!(plain.display_text(), Cow::Borrowed(_)));
    }
}
