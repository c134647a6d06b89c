//! Machine names: docker-machine's rule (letters, digits, `.` and `-`, starting with a letter or
//! digit), at most 63 characters so that a name is a valid DNS label in the server certificate.
//! Hand-written: one character class does not need a regex engine.

use crate::MachineError;

pub fn validate(name: &str) -> Result<(), MachineError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if first_ok && rest_ok && name.len() <= 63 {
        Ok(())
    } else {
        Err(MachineError::BadName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn docker_machine_names_pass_and_paths_do_not() {
        for good in ["m1", "default", "dev.box-2", "A"] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in ["", "-m", ".m", "a/b", "..", "m 1", "m_1", &"x".repeat(64)] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }
}
