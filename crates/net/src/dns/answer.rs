//! What the embedded resolver answers to one query: a container's names from the
//! [`Directory`], in rotated order for round robin; `None` for everything else (forwarded).

use std::net::Ipv4Addr;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, PTR};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::Directory;

/// Docker's TTL for the names its embedded server answers.
const TTL: u32 = 600;

/// The answer to `query` when it names a container (or asks the reverse of a container's
/// address), NXDOMAIN for an unknown name in a zone the directory owns; `None` when it is not
/// ours and goes upstream. `rotation` turns the order of
/// several addresses, so that successive queries for one alias start with another container.
pub(super) fn local_answer(
    query: &Message,
    directory: &mut dyn Directory,
    rotation: usize,
) -> Option<Message> {
    if query.metadata.message_type != MessageType::Query
        || query.metadata.op_code != OpCode::Query
        || query.queries.len() != 1
    {
        return None;
    }
    let question = &query.queries[0];
    let name = plain_name(question.name());
    let mut answers = Vec::new();
    match question.query_type() {
        RecordType::PTR => {
            let address = reverse_address(&name)?;
            let target = directory.name_of(address)?;
            let target = Name::from_ascii(format!("{target}.")).ok()?;
            answers.push(Record::from_rdata(
                question.name().clone(),
                TTL,
                RData::PTR(PTR(target)),
            ));
        }
        kind => {
            let Some(mut addresses) = directory.addresses(&name) else {
                if directory.authoritative(&name) {
                    let mut response = failure(query, ResponseCode::NXDomain);
                    response.metadata.authoritative = true;
                    return Some(response);
                }
                return None;
            };
            // Known name: A records for A (and ANY); other types get an empty NOERROR (no
            // IPv6 address here), as Docker's server answers rather than forwarding.
            if matches!(kind, RecordType::A | RecordType::ANY) && !addresses.is_empty() {
                let turn = rotation % addresses.len();
                addresses.rotate_left(turn);
                answers.extend(addresses.into_iter().map(|address| {
                    Record::from_rdata(question.name().clone(), TTL, RData::A(A(address)))
                }));
            }
        }
    }
    let mut response = Message::response(query.metadata.id, OpCode::Query);
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.metadata.response_code = ResponseCode::NoError;
    response.add_query(question.clone());
    response.add_answers(answers);
    Some(response)
}

/// The wire form of `response` within `limit` bytes (a UDP answer: 512, or the query's EDNS
/// size): answers that do not fit are dropped and TC is set, so the client asks again over
/// TCP, which carries them all (a scaled service with many containers under one alias).
pub(super) fn fit(mut response: Message, limit: usize) -> Option<Vec<u8>> {
    loop {
        let bytes = response.to_vec().ok()?;
        if bytes.len() <= limit || response.answers.is_empty() {
            return Some(bytes);
        }
        let keep = response.answers.len() * limit / bytes.len();
        response
            .answers
            .truncate(keep.min(response.answers.len() - 1));
        response.metadata.truncation = true;
    }
}

/// A failure answer (SERVFAIL, FORMERR) carrying the query's id and question.
pub(super) fn failure(query: &Message, code: ResponseCode) -> Message {
    let mut response = Message::error_msg(query.metadata.id, query.metadata.op_code, code);
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.add_queries(query.queries.iter().cloned());
    response
}

/// A query name as containers are named: lower case, without the root's dot.
fn plain_name(name: &Name) -> String {
    let mut text = name.to_ascii().to_ascii_lowercase();
    if text.ends_with('.') {
        text.pop();
    }
    text
}

/// `4.3.2.1.in-addr.arpa` -> 1.2.3.4.
fn reverse_address(name: &str) -> Option<Ipv4Addr> {
    let digits = name.strip_suffix(".in-addr.arpa")?;
    let mut octets: Vec<u8> = digits
        .split('.')
        .map(|d| d.parse().ok())
        .collect::<Option<_>>()?;
    if octets.len() != 4 {
        return None;
    }
    octets.reverse();
    Some(Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;

    struct Fixed;

    impl Directory for Fixed {
        fn addresses(&mut self, name: &str) -> Option<Vec<Ipv4Addr>> {
            match name {
                "web" => Some(vec![Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)]),
                _ => None,
            }
        }

        fn name_of(&mut self, address: Ipv4Addr) -> Option<String> {
            (address == Ipv4Addr::new(10, 0, 0, 2)).then(|| "web.net".to_string())
        }
    }

    fn ask(name: &str, kind: RecordType) -> Message {
        let mut message = Message::query();
        message.metadata.recursion_desired = true;
        message.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
        message
    }

    fn addresses(message: &Message) -> Vec<String> {
        message
            .answers
            .iter()
            .map(|r| match &r.data {
                RData::A(a) => a.0.to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn names_answer_in_turns_and_others_are_not_ours() {
        let first = local_answer(&ask("WEB.", RecordType::A), &mut Fixed, 0).unwrap();
        let second = local_answer(&ask("web", RecordType::A), &mut Fixed, 1).unwrap();
        assert_eq!(addresses(&first), ["10.0.0.2", "10.0.0.3"]);
        assert_eq!(addresses(&second), ["10.0.0.3", "10.0.0.2"]);
        assert!(local_answer(&ask("example.com.", RecordType::A), &mut Fixed, 0).is_none());
        let v6 = local_answer(&ask("web.", RecordType::AAAA), &mut Fixed, 0).unwrap();
        assert!(v6.answers.is_empty());
        assert_eq!(v6.metadata.response_code, ResponseCode::NoError);
    }

    /// Owns `cluster.local`.
    struct Zone;

    impl Directory for Zone {
        fn addresses(&mut self, name: &str) -> Option<Vec<Ipv4Addr>> {
            (name == "web.default.svc.cluster.local").then(|| vec![Ipv4Addr::new(10, 96, 0, 5)])
        }

        fn authoritative(&mut self, name: &str) -> bool {
            name.ends_with(".cluster.local")
        }
    }

    #[test]
    fn unknown_names_of_an_owned_zone_are_nxdomain_others_go_upstream() {
        let known = local_answer(
            &ask("web.default.svc.cluster.local.", RecordType::A),
            &mut Zone,
            0,
        )
        .unwrap();
        assert_eq!(addresses(&known), ["10.96.0.5"]);
        let unknown = local_answer(
            &ask("web.x.svc.cluster.local.", RecordType::A),
            &mut Zone,
            0,
        )
        .unwrap();
        assert_eq!(unknown.metadata.response_code, ResponseCode::NXDomain);
        assert!(local_answer(&ask("example.com.", RecordType::A), &mut Zone, 0).is_none());
    }

    struct Many;

    impl Directory for Many {
        fn addresses(&mut self, _name: &str) -> Option<Vec<Ipv4Addr>> {
            Some((0..100).map(|i| Ipv4Addr::new(10, 0, 1, i)).collect())
        }
    }

    #[test]
    fn udp_answers_that_do_not_fit_are_truncated() {
        let full = local_answer(&ask("web.", RecordType::A), &mut Many, 0).unwrap();
        let bytes = fit(full, 512).unwrap();
        assert!(bytes.len() <= 512, "{}", bytes.len());
        let back = Message::from_vec(&bytes).unwrap();
        assert!(back.metadata.truncation);
        assert!(!back.answers.is_empty());
        let small = local_answer(&ask("web.", RecordType::A), &mut Fixed, 0).unwrap();
        let back = Message::from_vec(&fit(small, 512).unwrap()).unwrap();
        assert!(!back.metadata.truncation);
        assert_eq!(back.answers.len(), 2);
    }

    #[test]
    fn reverse_lookups_name_containers() {
        let answer = local_answer(
            &ask("2.0.0.10.in-addr.arpa.", RecordType::PTR),
            &mut Fixed,
            0,
        )
        .unwrap();
        assert_eq!(answer.answers.len(), 1);
        assert!(
            local_answer(
                &ask("9.0.0.10.in-addr.arpa.", RecordType::PTR),
                &mut Fixed,
                0
            )
            .is_none()
        );
    }
}
