//! Query-string helpers with Docker's conventions: booleans as Go's `strconv.ParseBool` reads
//! them (the CLI sends 1/0, docker-py True/False, bollard true/false) and `filters` in both the
//! map form (`{"name":{"x":true}}`) and the list form (`{"label":["a=b"]}`).

use std::collections::HashMap;

use berth_engine::filters::Filters;

use crate::error::{ApiError, ApiResult};

pub type Query = HashMap<String, String>;

/// A boolean parameter; missing, empty or unparsable means `default`.
pub fn flag(q: &Query, key: &str, default: bool) -> bool {
    match q.get(key).map(String::as_str) {
        Some("1" | "t" | "T" | "TRUE" | "true" | "True") => true,
        Some("0" | "f" | "F" | "FALSE" | "false" | "False") => false,
        _ => default,
    }
}

/// Every non-empty value of a parameter that may repeat (`changes`, `names`), in order, read
/// from the raw query (the map form keeps only one).
pub fn repeated(raw: Option<&str>, key: &str) -> ApiResult<Vec<String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    Ok(pairs
        .into_iter()
        .filter(|(k, v)| k == key && !v.trim().is_empty())
        .map(|(_, v)| v)
        .collect())
}

/// A non-empty string parameter.
pub fn text<'a>(q: &'a Query, key: &str) -> Option<&'a str> {
    q.get(key).map(String::as_str).filter(|s| !s.is_empty())
}

/// An integer parameter; a malformed value is a 400 naming the parameter.
pub fn int(q: &Query, key: &str) -> ApiResult<Option<i64>> {
    match text(q, key) {
        None => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
            ApiError::bad_request(format!("invalid value for {key}: {v:?} is not an integer"))
        }),
    }
}

/// `filters=` from either JSON shape, as the engine's filter set.
pub fn filters(q: &Query) -> ApiResult<Filters> {
    let Some(raw) = text(q, "filters") else {
        return Ok(Filters::new());
    };
    let parsed: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid filters {raw:?}: {e}")))?;
    let object = parsed
        .as_object()
        .ok_or_else(|| ApiError::bad_request(format!("invalid filters {raw:?}: not an object")))?;
    let mut out = Filters::new();
    for (key, values) in object {
        match values {
            serde_json::Value::Object(map) => map
                .iter()
                .filter(|(_, on)| on.as_bool() != Some(false))
                .for_each(|(v, _)| out.add(key, v)),
            serde_json::Value::Array(list) => list
                .iter()
                .filter_map(|v| v.as_str())
                .for_each(|v| out.add(key, v)),
            serde_json::Value::String(v) => out.add(key, v),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid filter {key:?} in {raw:?}"
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Query {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn booleans_in_every_clients_style() {
        for yes in ["1", "true", "True", "TRUE", "t"] {
            assert!(flag(&q(&[("all", yes)]), "all", false), "{yes}");
        }
        for no in ["0", "false", "False", "f"] {
            assert!(!flag(&q(&[("all", no)]), "all", true), "{no}");
        }
        assert!(flag(&q(&[("all", "")]), "all", true));
        assert!(!flag(&q(&[]), "all", false));
    }

    #[test]
    fn filters_in_map_and_list_form() {
        let map = filters(&q(&[("filters", r#"{"name":{"web":true,"db":false}}"#)])).unwrap();
        assert_eq!(map.pairs(), vec![("name".to_string(), "web".to_string())]);
        let list = filters(&q(&[(
            "filters",
            r#"{"label":["a=b","c"],"status":["exited"]}"#,
        )]))
        .unwrap()
        .pairs();
        assert_eq!(list.len(), 3);
        assert!(list.contains(&("label".into(), "c".into())));
        assert!(filters(&q(&[("filters", "{oops")])).is_err());
    }
}
