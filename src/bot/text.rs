//! Making text from WSC or users safe to show: no markdown, mentions or forged lines, and
//! within Discord's limits.

/// Plain text for embeds and messages: one line, markdown and mentions neutralised.
pub fn escape(text: &str) -> String {
    let line = one_line(text);
    let mut out = String::with_capacity(line.len());
    let mut at_start = true;
    for c in line.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '<' => {
                out.push('\\');
                out.push(c);
            }
            // Headings, lists and quotes only form at the start of a line.
            '#' | '-' | '>' if at_start => {
                out.push('\\');
                out.push(c);
            }
            // A zero-width space after @ stops @everyone, @here and user tags from forming.
            '@' => out.push_str("@\u{200B}"),
            _ => out.push(c),
        }
        at_start &= c.is_whitespace();
    }
    out
}

/// `escape` undone: the text a person typed (on one line), from what the bot showed of it.
pub fn unescape(shown: &str) -> String {
    let mut out = String::with_capacity(shown.len());
    let mut chars = shown.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '@' => {
                out.push('@');
                chars.next_if_eq(&'\u{200B}');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Inline code: nothing inside renders as markdown, a link or a mention.
pub fn code(text: &str) -> String {
    let inner = one_line(text).replace('`', "ˋ");
    if inner.trim().is_empty() {
        "—".to_owned()
    } else {
        format!("`{inner}`")
    }
}

/// Control characters and line breaks become spaces, so no text can start a line of its own.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') { ' ' } else { c })
        .collect()
}

/// At most `max` characters (Unicode scalar values, as Discord counts), ending in `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    // Do not leave a lone escaping backslash at the end.
    if cut.ends_with('\\') && !cut.ends_with("\\\\") {
        cut.pop();
    }
    cut.push('…');
    cut
}

/// Escaped, then cut to `max`: the order matters, escaping adds characters.
pub fn safe(text: &str, max: usize) -> String {
    truncate(&escape(text), max)
}

/// Inline code cut to `max`, closing backtick kept.
pub fn safe_code(text: &str, max: usize) -> String {
    let rendered = code(text);
    if rendered.chars().count() <= max {
        return rendered;
    }
    let inner = one_line(text).replace('`', "ˋ");
    format!("`{}`", truncate(&inner, max.saturating_sub(2)))
}

/// The host of a URL, for short button labels; the text itself when it is no URL.
pub fn host(url: &str) -> String {
    reqwest::Url::parse(url.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| one_line(url.trim()))
}

/// A short id that links what a person sees to the log lines about it.
pub fn correlation_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..6).map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_markdown_and_lines_are_neutralised() {
        let hostile =
            "@everyone <@123> <@&456> **bold** [link](http://x)\n> quote\r\n# head `code` ||spoiler||";
        let safe = escape(hostile);
        assert!(!safe.contains('\n') && !safe.contains('\r'));
        assert!(!safe.contains("@everyone"));
        // Every @ is followed by a zero-width space, so no mention can form.
        assert_eq!(safe.matches('@').count(), safe.matches("@\u{200B}").count());
        assert!(!safe.contains("**"));
        assert!(safe.contains(r"\*\*bold\*\*"));
        assert!(safe.contains(r"\[link\](http://x)"));
        assert_eq!(escape("# big"), r"\# big");
        assert_eq!(escape("a-b > c"), "a-b > c");
    }

    #[test]
    fn unescape_undoes_escape_for_any_line() {
        let alphabet: Vec<char> = "\\*_~`|[]<>#-@ \u{200B}a한\n".chars().collect();
        let mut rng = fastrand::Rng::with_seed(14);
        for _ in 0..20_000 {
            let text: String = (0..rng.usize(0..24)).map(|_| alphabet[rng.usize(..alphabet.len())]).collect();
            assert_eq!(unescape(&escape(&text)), one_line(&text), "{text:?}");
        }
    }

    #[test]
    fn code_spans_cannot_be_closed_early() {
        assert_eq!(code("a`b\nc"), "`aˋb c`");
        assert_eq!(code(""), "—");
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        let korean = "진단".repeat(100);
        let cut = truncate(&korean, 11);
        assert_eq!(cut.chars().count(), 11);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(safe("*****", 4), r"\*…", "no lone backslash at the end");
        let long_url = format!("https://{}.example/", "a".repeat(300));
        let code = safe_code(&long_url, 100);
        assert_eq!(code.chars().count(), 100);
        assert!(code.starts_with('`') && code.ends_with('`'));
    }

    #[test]
    fn hosts_for_labels() {
        assert_eq!(host("https://www.example.com/a/b?c"), "www.example.com");
        assert_eq!(host("not a url\nat all"), "not a url at all");
    }
}
