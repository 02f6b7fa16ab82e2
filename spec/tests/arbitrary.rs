//! With the `arbitrary` feature: every generated wire value is valid, i.e. it
//! encodes to a line within `MAX_LINE` that decodes back to it. Run with
//! `cargo test -p spec --features arbitrary --test arbitrary`.

#![cfg(feature = "arbitrary")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use spec::limits::MAX_LINE;
use spec::{ClientLine, Datagram, PeerLine, ServerLine};

fn check<'a, T>(bytes: &'a [u8], decode: impl Fn(&[u8]) -> Result<T, spec::DecodeError>)
where
    T: Arbitrary<'a> + std::fmt::Display + std::fmt::Debug + PartialEq,
{
    let mut u = Unstructured::new(bytes);
    let Ok(v) = T::arbitrary(&mut u) else {
        return;
    };
    let line = v.to_string();
    assert!(line.len() <= MAX_LINE, "{} octets: {line}", line.len());
    assert_eq!(decode(line.as_bytes()), Ok(v), "{line}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn generated_values_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check::<ClientLine>(&bytes, ClientLine::decode);
        check::<ServerLine>(&bytes, ServerLine::decode);
        check::<PeerLine>(&bytes, PeerLine::decode);
        check::<Datagram>(&bytes, Datagram::decode);
    }
}
