//! `.dockerignore` with Docker's pattern rules (moby/patternmatcher): one pattern per line, `#`
//! comments, patterns cleaned like `filepath.Clean` with a leading `/` dropped, `*` and `?` within
//! one path segment, `**` across segments, `[...]` classes, `\` escapes, `!` exceptions; the last
//! matching pattern decides, and a pattern that matches a directory matches everything under it.

/// A parsed `.dockerignore`.
#[derive(Debug, Default, Clone)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    text: Vec<char>,
    exclusion: bool,
}

impl Ignore {
    /// Parses the contents of a `.dockerignore` file.
    pub fn parse(text: &str) -> Ignore {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exclusion, raw) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let cleaned = clean(raw);
            if cleaned.is_empty() {
                continue;
            }
            patterns.push(Pattern {
                text: cleaned.chars().collect(),
                exclusion,
            });
        }
        Ignore { patterns }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any `!` exception exists (then an excluded directory must still be walked).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded from the context.
    pub fn excludes(&self, path: &str) -> bool {
        let path = clean(path);
        let mut excluded = false;
        for pattern in &self.patterns {
            if excluded != pattern.exclusion {
                continue; // this pattern cannot change the verdict
            }
            if matches_or_parent(&pattern.text, &path) {
                excluded = !pattern.exclusion;
            }
        }
        excluded
    }
}

/// `filepath.Clean` for `/`-separated relative paths, and the leading `/` dropped.
pub fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn matches_or_parent(pattern: &[char], path: &str) -> bool {
    let chars: Vec<char> = path.chars().collect();
    if glob(pattern, &chars) {
        return true;
    }
    // A pattern matching a parent directory excludes everything below it.
    chars
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == '/')
        .any(|(i, _)| glob(pattern, &chars[..i]))
}

/// Whole-path glob match (COPY sources use the same syntax).
pub(crate) fn glob_path(p: &[char], s: &str) -> bool {
    glob(p, &s.chars().collect::<Vec<_>>())
}

/// Whole-string glob match with patternmatcher's semantics.
fn glob(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => {
            // `**/` matches zero or more whole directories; `**` elsewhere matches anything.
            let rest = if p.get(2) == Some(&'/') {
                &p[3..]
            } else {
                &p[2..]
            };
            if p.get(2) == Some(&'/') {
                if glob(rest, s) {
                    return true;
                }
                return s
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c == '/')
                    .any(|(i, _)| glob(rest, &s[i + 1..]));
            }
            (0..=s.len()).any(|i| glob(rest, &s[i..]))
        }
        Some('*') => {
            let rest = &p[1..];
            for i in 0..=s.len() {
                if glob(rest, &s[i..]) {
                    return true;
                }
                if s.get(i) == Some(&'/') {
                    break;
                }
            }
            false
        }
        Some('?') => s.first().is_some_and(|c| *c != '/') && glob(&p[1..], &s[1..]),
        Some('[') => match class(&p[1..], s.first().copied()) {
            Some((true, used)) => glob(&p[1 + used..], &s[1..]),
            _ => false,
        },
        Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && glob(&p[2..], &s[1..]),
        Some(c) => s.first() == Some(c) && glob(&p[1..], &s[1..]),
    }
}

/// Matches `c` against a class body (after `[`); returns (matched, chars used incl. `]`).
fn class(p: &[char], c: Option<char>) -> Option<(bool, usize)> {
    let c = c.filter(|c| *c != '/')?;
    let mut i = 0;
    let negate = matches!(p.first(), Some('^') | Some('!'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = if p[i] == '\\' && i + 1 < p.len() {
            i += 1;
            p[i]
        } else {
            p[i]
        };
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|h| *h != ']') {
            let hi = p[i + 2];
            matched |= lo <= c && c <= hi;
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_rules() {
        let ig = Ignore::parse(
            "# comment\n*.log\n/build\n!keep.log\n**/tmp\ndocs/*.md\nsecret?\n[ab].txt\n",
        );
        assert!(ig.excludes("x.log"));
        assert!(!ig.excludes("keep.log"));
        assert!(!ig.excludes("dir/x.log"), "* does not cross /");
        assert!(ig.excludes("build"));
        assert!(
            ig.excludes("build/out/a.o"),
            "a matched directory excludes its content"
        );
        assert!(ig.excludes("tmp"));
        assert!(ig.excludes("a/b/tmp/x"));
        assert!(ig.excludes("docs/a.md"));
        assert!(!ig.excludes("docs/sub/a.md"));
        assert!(ig.excludes("secret1"));
        assert!(!ig.excludes("secret12"));
        assert!(ig.excludes("a.txt"));
        assert!(!ig.excludes("c.txt"));
        assert!(!ig.excludes("src/main.rs"));
    }

    #[test]
    fn exceptions_and_double_star() {
        let ig = Ignore::parse("**\n!src\n!Dockerfile\nsrc/**/*.bak\n");
        assert!(ig.excludes("README"));
        assert!(!ig.excludes("Dockerfile"));
        assert!(!ig.excludes("src/a.rs"));
        assert!(ig.excludes("src/a.bak"));
        assert!(ig.excludes("src/x/y/a.bak"));
        assert!(ig.has_exceptions());
        let ig = Ignore::parse("./a/../b\n");
        assert!(ig.excludes("b"));
        assert_eq!(clean("/x//y/./z/"), "x/y/z");
    }
}
