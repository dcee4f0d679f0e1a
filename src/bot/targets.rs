//! Which hosts may be scanned from chat (`WSC_SCAN_TARGETS`), and whether a URL typed in chat is
//! one of them. Pure functions: every scan and rescan passes here before anything is called.

use reqwest::Url;

/// The longest URL accepted from chat: far above any real start page, well within WSC's field.
pub const MAX_URL_CHARS: usize = 500;

/// One entry of `WSC_SCAN_TARGETS`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// `shop.example.com`: that host exactly.
    Exact(String),
    /// `*.example.com`: its subdomains, at any depth, not the domain itself.
    Subdomains(String),
}

/// The hosts scanning from chat may target; empty (the default) turns scanning from chat off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanTargets(Vec<Rule>);

/// Why a URL typed in chat is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlRefusal {
    /// Not a URL at all, or one with no host.
    NotAUrl,
    /// A scheme other than `http` or `https`.
    Scheme,
    /// `user:password@` in it: a scan's URL is shown to the team and kept in the console.
    Credentials,
    TooLong,
    /// The host is not in `WSC_SCAN_TARGETS` (the host, as the bot read it).
    NotListed(String),
}

/// The host as WSC will reach it: lower case, IDN in punycode, no trailing dot.
fn normal_host(url: &Url) -> Option<String> {
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

impl ScanTargets {
    /// Parses `WSC_SCAN_TARGETS`: comma-separated hosts, each exact or `*.` and a domain. The
    /// error says which entry is wrong, for a message that names the variable.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rules = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (wildcard, host) = match entry.strip_prefix("*.") {
                Some(rest) => (true, rest),
                None => (false, entry),
            };
            let bad = || {
                format!(
                    "has `{entry}`, which is not a host name: give hosts such as shop.example.com or \
                     *.example.com, comma-separated (no scheme, port, path or other wildcard)"
                )
            };
            if host.is_empty() || host.contains(['*', '/', ':', '@', '?', '#', ' ']) {
                return Err(bad());
            }
            let url = Url::parse(&format!("http://{host}/")).map_err(|_| bad())?;
            let host = normal_host(&url).ok_or_else(bad)?;
            if wildcard && !host.contains('.') {
                return Err(format!("has `{entry}`, which would allow a whole top-level domain"));
            }
            rules.push(if wildcard { Rule::Subdomains(host) } else { Rule::Exact(host) });
        }
        Ok(Self(rules))
    }

    /// Whether scanning from chat is on at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn allows_host(&self, host: &str) -> bool {
        self.0.iter().any(|rule| match rule {
            Rule::Exact(listed) => host == listed,
            Rule::Subdomains(domain) => {
                host.strip_suffix(domain.as_str()).is_some_and(|head| head.len() > 1 && head.ends_with('.'))
            }
        })
    }

    /// The URL to scan, as it will be sent, when `typed` is an `http(s)` URL on a listed host.
    pub fn check(&self, typed: &str) -> Result<Url, UrlRefusal> {
        let typed = typed.trim();
        if typed.chars().count() > MAX_URL_CHARS {
            return Err(UrlRefusal::TooLong);
        }
        let url = Url::parse(typed).map_err(|_| UrlRefusal::NotAUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlRefusal::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlRefusal::Credentials);
        }
        let host = normal_host(&url).ok_or(UrlRefusal::NotAUrl)?;
        if !self.allows_host(&host) {
            return Err(UrlRefusal::NotListed(host));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(text: &str) -> ScanTargets {
        ScanTargets::parse(text).unwrap()
    }

    #[test]
    fn exact_hosts_and_subdomains() {
        let rules = targets(" shop.example.com, *.test.example.org ,");
        let allowed = [
            "https://shop.example.com/",
            "http://SHOP.Example.COM./cart?x=1",
            "https://shop.example.com:8443/a",
            "https://a.test.example.org/",
            "https://deep.a.test.example.org/x",
        ];
        for url in allowed {
            assert!(rules.check(url).is_ok(), "{url}");
        }
        let refused = [
            ("https://example.com/", UrlRefusal::NotListed("example.com".into())),
            ("https://www.shop.example.com/", UrlRefusal::NotListed("www.shop.example.com".into())),
            ("https://test.example.org/", UrlRefusal::NotListed("test.example.org".into())),
            ("https://eviltest.example.org/", UrlRefusal::NotListed("eviltest.example.org".into())),
            ("https://shop.example.com.evil.net/", UrlRefusal::NotListed("shop.example.com.evil.net".into())),
            ("https://a.test.example.org.evil/", UrlRefusal::NotListed("a.test.example.org.evil".into())),
            ("ftp://shop.example.com/", UrlRefusal::Scheme),
            ("javascript:alert(1)", UrlRefusal::Scheme),
            ("file:///etc/passwd", UrlRefusal::Scheme),
            ("shop.example.com", UrlRefusal::NotAUrl),
            ("", UrlRefusal::NotAUrl),
            ("https://", UrlRefusal::NotAUrl),
            ("https://user:pw@shop.example.com/", UrlRefusal::Credentials),
            ("https://shop.example.com@evil.net/", UrlRefusal::Credentials),
        ];
        for (url, refusal) in refused {
            assert_eq!(rules.check(url), Err(refusal), "{url}");
        }
        let long = format!("https://shop.example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(rules.check(&long), Err(UrlRefusal::TooLong));
    }

    #[test]
    fn none_listed_allows_nothing() {
        let rules = targets("  ");
        assert!(rules.is_empty());
        assert_eq!(rules.check("https://x.y/"), Err(UrlRefusal::NotListed("x.y".into())));
    }

    #[test]
    fn international_names_compare_as_punycode() {
        let rules = targets("*.한국.example");
        assert!(rules.check("https://www.한국.example/").is_ok());
        assert!(rules.check("https://www.xn--3e0b707e.example/").is_ok());
    }

    #[test]
    fn malformed_entries_are_refused_with_the_entry_named() {
        for entry in ["https://shop.example.com", "shop.example.com/x", "*", "*.com", "a*.b.c", "x:80", "*."]
        {
            let error = ScanTargets::parse(entry).unwrap_err();
            assert!(error.contains('`'), "{entry}: {error}");
        }
    }

    /// A property over many generated URLs: whatever is accepted is http(s), without
    /// credentials, and its host is listed exactly or ends in `.` and a listed domain.
    #[test]
    fn whatever_is_accepted_is_on_a_listed_host() {
        let rules = targets("shop.example.com, *.example.org");
        let pieces = [
            "",
            "http",
            "https",
            "ftp",
            ":",
            "//",
            "@",
            "shop",
            "example",
            ".",
            "com",
            "org",
            "a",
            "evil",
            "/",
            "?",
            "#",
            "%2e",
            "\\",
            ":443",
            "xn--",
            "..",
            " ",
            "\t",
            "[::1]",
            "127.0.0.1",
            "SHOP",
        ];
        let mut rng = fastrand::Rng::with_seed(14);
        for _ in 0..50_000 {
            let n = rng.usize(1..12);
            let typed: String = (0..n).map(|_| pieces[rng.usize(..pieces.len())]).collect();
            if let Ok(url) = rules.check(&typed) {
                assert!(matches!(url.scheme(), "http" | "https"), "{typed}");
                assert!(url.username().is_empty() && url.password().is_none(), "{typed}");
                let host = normal_host(&url).unwrap();
                assert!(host == "shop.example.com" || host.ends_with(".example.org"), "{typed} → {host}");
            }
        }
    }
}
