//! Random container names in Docker's style: adjective_surname.

const ADJECTIVES: &[&str] = &[
    "admiring", "agitated", "amazing", "angry", "awesome", "beautiful", "blissful", "bold", "brave", "busy",
    "charming", "clever", "compassionate", "competent", "cool", "cranky", "crazy", "dazzling", "determined",
    "distracted", "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "epic", "exciting", "fervent",
    "festive", "flamboyant", "focused", "friendly", "frosty", "funny", "gallant", "gifted", "goofy", "gracious",
    "great", "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible", "inspiring", "intelligent",
    "interesting", "jolly", "jovial", "keen", "kind", "laughing", "loving", "lucid", "magical", "modest",
    "musing", "mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic", "objective", "optimistic",
    "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky", "quizzical", "relaxed", "reverent",
    "romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic", "strange", "stupefied", "suspicious",
    "sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant", "vigilant", "vigorous",
    "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
];

const SURNAMES: &[&str] = &[
    "agnesi", "albattani", "allen", "archimedes", "babbage", "banach", "bardeen", "bartik", "bassi", "bell",
    "bhabha", "blackwell", "bohr", "booth", "borg", "bose", "boyd", "brahmagupta", "brown", "carson", "cerf",
    "chandrasekhar", "clarke", "colden", "curie", "darwin", "davinci", "dijkstra", "dubinsky", "easley",
    "einstein", "elion", "engelbart", "euclid", "euler", "faraday", "fermat", "fermi", "feynman", "franklin",
    "galileo", "gates", "goldberg", "goldstine", "goodall", "hamilton", "hawking", "heisenberg", "hertz",
    "hodgkin", "hopper", "hypatia", "jackson", "jennings", "johnson", "joliot", "kalam", "keller", "kepler",
    "khorana", "kilby", "knuth", "kowalevski", "lalande", "lamarr", "lamport", "leakey", "leavitt", "lovelace",
    "lumiere", "mayer", "mccarthy", "mcclintock", "meitner", "mendel", "merkle", "minsky", "mirzakhani",
    "morse", "napier", "newton", "nobel", "noether", "pascal", "pasteur", "perlman", "pike", "poincare",
    "ptolemy", "raman", "ritchie", "rosalind", "sammet", "shannon", "shockley", "sinoussi", "stonebraker",
    "swartz", "tesla", "thompson", "torvalds", "turing", "varahamihira", "wescoff", "wiles", "williams",
    "wilson", "wing", "wozniak", "wright", "yalow", "yonath",
];

/// A random Docker-style name; `salt` varies it on retries after a collision.
pub fn random_name(seed: &[u8]) -> String {
    let a = u16::from_le_bytes([seed[0], seed[1]]) as usize % ADJECTIVES.len();
    let s = u16::from_le_bytes([seed[2], seed[3]]) as usize % SURNAMES.len();
    format!("{}_{}", ADJECTIVES[a], SURNAMES[s])
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// 32 random bytes from the kernel.
pub fn random_bytes() -> [u8; 32] {
    let mut buf = [0u8; 32];
    // SAFETY: getrandom writes at most buf.len() bytes into a buffer we own.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    assert_eq!(n, buf.len() as isize, "getrandom failed");
    buf
}

/// A new 64-hex container id.
pub fn new_id() -> String {
    hex::encode(random_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker_rules() {
        assert!(valid_name(&random_name(&random_bytes())));
        assert!(valid_name("web-1.a_b"));
        assert!(!valid_name("-web"));
        assert!(!valid_name("a"));
        assert!(!valid_name("we/b"));
    }
}
