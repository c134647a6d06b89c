//! Word expansion with Docker's rules (moby/buildkit `shell/lex.go`): `$VAR`, `${VAR}`,
//! `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}`, `${VAR?msg}`,
//! single quotes (literal), double quotes (expansion inside), and the escape character
//! (`\` or the one the `# escape=` directive chose). Quotes and escapes are removed from the result.

/// Looks a variable up; `None` means unset (different from set-but-empty for `-`/`+`).
pub trait Lookup {
    fn get(&self, name: &str) -> Option<&str>;
}

impl Lookup for std::collections::BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        std::collections::BTreeMap::get(self, name).map(String::as_str)
    }
}

impl Lookup for [(String, String)] {
    fn get(&self, name: &str) -> Option<&str> {
        // The last definition wins, as when the pairs are applied in order.
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Expands one word: variables replaced, quotes and escapes removed.
pub fn expand_word(
    word: &str,
    vars: &(impl Lookup + ?Sized),
    escape: char,
) -> Result<String, String> {
    let mut lexer = Lexer {
        chars: word.chars().collect(),
        pos: 0,
        escape,
        vars,
        heredoc: false,
    };
    lexer.process(None)
}

/// Expands a here-document's body: variables are replaced, quotes are ordinary characters, and
/// the escape character only protects `$` and itself (as a shell does in `<<EOF` documents).
pub fn expand_heredoc(
    body: &str,
    vars: &(impl Lookup + ?Sized),
    escape: char,
) -> Result<String, String> {
    let mut lexer = Lexer {
        chars: body.chars().collect(),
        pos: 0,
        escape,
        vars,
        heredoc: true,
    };
    lexer.process(None)
}
/// Splits a line into words on unquoted whitespace, keeping quotes and escapes in each word
/// (they are removed later by [`expand_word`]), as buildkit's `parseWords` does.
pub fn split_words(line: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                current.push(c);
            }
            Some(q) if c == q => {
                quote = None;
                current.push(c);
            }
            _ if c == escape && quote != Some('\'') => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

struct Lexer<'v, V: Lookup + ?Sized> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    vars: &'v V,
    /// Here-document mode: quotes are literal, escapes only before `$` and the escape char.
    heredoc: bool,
}

impl<V: Lookup + ?Sized> Lexer<'_, V> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    /// Reads until `stop` (consumed) or the end.
    fn process(&mut self, stop: Option<char>) -> Result<String, String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok(out);
            }
            self.pos += 1;
            if self.heredoc {
                match c {
                    '$' => out.push_str(&self.dollar()?),
                    c if c == self.escape
                        && matches!(self.peek(), Some(n) if n == '$' || n == self.escape) =>
                    {
                        out.push(self.next().unwrap_or(c));
                    }
                    c => out.push(c),
                }
                continue;
            }
            match c {
                '\'' => out.push_str(&self.single_quoted()?),
                '"' => out.push_str(&self.double_quoted()?),
                '$' => out.push_str(&self.dollar()?),
                c if c == self.escape => match self.next() {
                    Some(n) => out.push(n),
                    // A trailing escape stays as it is.
                    None => out.push(c),
                },
                c => out.push(c),
            }
        }
        if let Some(stop) = stop {
            return Err(format!("missing '{stop}'"));
        }
        Ok(out)
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    );
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, String> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('"') => return Ok(out),
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) if c == self.escape => match self.peek() {
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += 1;
                        out.push(n);
                    }
                    _ => out.push(c),
                },
                Some(c) => out.push(c),
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    );
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        name
    }

    fn dollar(&mut self) -> Result<String, String> {
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(self.vars.get(&name).unwrap_or_default().to_string());
        }
        self.pos += 1;
        let name = self.name();
        if name.is_empty() {
            return Err("bad substitution: missing variable name in ${}".into());
        }
        let value = self.vars.get(&name);
        match self.next() {
            Some('}') => Ok(value.unwrap_or_default().to_string()),
            Some(':') => {
                let op = self.next();
                let word = self.process(Some('}'))?;
                let set_nonempty = value.is_some_and(|v| !v.is_empty());
                match op {
                    Some('-') => Ok(if set_nonempty {
                        value.unwrap_or_default().to_string()
                    } else {
                        word
                    }),
                    Some('+') => Ok(if set_nonempty { word } else { String::new() }),
                    Some('?') if !set_nonempty => Err(format!(
                        "{name}: {}",
                        if word.is_empty() {
                            "is not allowed to be empty"
                        } else {
                            &word
                        }
                    )),
                    Some('?') => Ok(value.unwrap_or_default().to_string()),
                    _ => Err(format!("unsupported modifier in ${{{name}:...}}")),
                }
            }
            Some(op @ ('-' | '+' | '?')) => {
                let word = self.process(Some('}'))?;
                match op {
                    '-' => Ok(value.map(str::to_string).unwrap_or(word)),
                    '+' => Ok(if value.is_some() { word } else { String::new() }),
                    _ => value.map(str::to_string).ok_or_else(|| {
                        format!(
                            "{name}: {}",
                            if word.is_empty() {
                                "is not allowed to be unset"
                            } else {
                                &word
                            }
                        )
                    }),
                }
            }
            Some(c) => Err(format!(
                "unsupported modifier ({c}) in substitution of ${{{name}}}"
            )),
            None => Err(format!("missing '}}' in substitution of ${{{name}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn vars() -> BTreeMap<String, String> {
        [("A", "alpha"), ("E", ""), ("P", "/usr/bin")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn x(s: &str) -> String {
        expand_word(s, &vars(), '\\').unwrap()
    }

    #[test]
    fn plain_and_braced_variables() {
        assert_eq!(x("$A"), "alpha");
        assert_eq!(x("${A}x"), "alphax");
        assert_eq!(x("$Ax"), "");
        assert_eq!(x("$P:/bin"), "/usr/bin:/bin");
        assert_eq!(x("$UNSET-"), "-");
        assert_eq!(x("a$"), "a$");
    }

    #[test]
    fn modifiers_follow_docker() {
        assert_eq!(x("${E:-d}"), "d");
        assert_eq!(x("${E-d}"), "");
        assert_eq!(x("${U-d}"), "d");
        assert_eq!(x("${A:+x}"), "x");
        assert_eq!(x("${E:+x}"), "");
        assert_eq!(x("${E+x}"), "x");
        assert_eq!(x("${U+x}"), "");
        assert_eq!(x("${U:-$A}"), "alpha");
        assert!(
            expand_word("${U:?need it}", &vars(), '\\')
                .unwrap_err()
                .contains("need it")
        );
        assert!(expand_word("${A", &vars(), '\\').is_err());
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(x("'$A'"), "$A");
        assert_eq!(x("\"$A b\""), "alpha b");
        assert_eq!(x("\\$A"), "$A");
        assert_eq!(x("\"\\$A\\\"\""), "$A\"");
        assert_eq!(x("\"a\\b\""), "a\\b");
        assert_eq!(expand_word("`$A", &vars(), '`').unwrap(), "$A");
        assert_eq!(expand_word("C:\\dir", &vars(), '`').unwrap(), "C:\\dir");
        assert!(expand_word("'open", &vars(), '\\').is_err());
    }

    #[test]
    fn heredoc_bodies_keep_quotes_and_backslashes() {
        let body = "say \"$A\" '${A}' C:\\dir \\$A\n";
        assert_eq!(
            expand_heredoc(body, &vars(), '\\').unwrap(),
            "say \"alpha\" 'alpha' C:\\dir $A\n"
        );
    }

    #[test]
    fn splits_on_unquoted_space() {
        assert_eq!(
            split_words(r#"a=1 b="x y" c=z\ w"#, '\\'),
            vec!["a=1", "b=\"x y\"", "c=z\\ w"]
        );
        assert_eq!(split_words("  ", '\\'), Vec::<String>::new());
    }
}
