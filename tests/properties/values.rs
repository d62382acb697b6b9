//! Properties of the core value types: `Timestamp`, `TokenSet::renew_at`, `Signature`.

use super::*;

fn arb_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..10_000_000).prop_map(Duration::from_millis),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        Just(Duration::MAX),
        Just(Duration::ZERO),
    ]
}

fn arb_ms() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..4_000_000_000_000,
        (u64::MAX - 1_000_000)..=u64::MAX
    ]
}

fn millis_of(d: Duration) -> u128 {
    d.as_millis().min(u128::from(u64::MAX))
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn timestamp_arithmetic_saturates(a in arb_ms(), b in arb_ms(), d in arb_duration(), secs in any::<u64>()) {
        let ta = Timestamp::from_unix_millis(a);
        let tb = Timestamp::from_unix_millis(b);
        prop_assert_eq!(ta.as_unix_millis(), a);
        prop_assert_eq!(ta.cmp(&tb), a.cmp(&b));
        let max = u128::from(u64::MAX);
        prop_assert_eq!(
            u128::from(Timestamp::from_unix_secs(secs).as_unix_millis()),
            (u128::from(secs) * 1000).min(max)
        );
        prop_assert_eq!(u128::from(ta.saturating_add(d).as_unix_millis()), (u128::from(a) + millis_of(d)).min(max));
        prop_assert_eq!(
            u128::from(ta.saturating_sub(d).as_unix_millis()),
            u128::from(a).saturating_sub(millis_of(d))
        );
        prop_assert_eq!(ta.saturating_duration_since(tb), Duration::from_millis(a.saturating_sub(b)));
        prop_assert!(ta.saturating_add(d) >= ta);
        prop_assert!(ta.saturating_sub(d) <= ta);
        prop_assert_eq!(RetryAfter::Delay(d).deadline(ta), ta.saturating_add(d));
        prop_assert_eq!(RetryAfter::At(tb).deadline(ta), tb);
        prop_assert!(!RetryAfter::Delay(d).to_string().is_empty());
    }

    #[test]
    fn timestamp_from_system_time(ms in 0u64..(1u64 << 50), nanos in 0u32..1_000_000, before in any::<bool>()) {
        let d = Duration::from_millis(ms) + Duration::from_nanos(u64::from(nanos));
        if before {
            if let Some(t) = UNIX_EPOCH.checked_sub(d) {
                prop_assert_eq!(Timestamp::from_system_time(t), Timestamp::EPOCH);
            }
        } else if let Some(t) = UNIX_EPOCH.checked_add(d) {
            prop_assert_eq!(Timestamp::from_system_time(t), Timestamp::from_unix_millis(ms));
        }
        // Never panics at the extremes a SystemTime can hold.
        let _ = Timestamp::from_system_time(SystemTime::now());
    }

    #[test]
    fn renew_at_stays_within_the_token_life(o in arb_ms(), life in arb_ms(), margin in arb_duration()) {
        let obtained = Timestamp::from_unix_millis(o);
        let expires = Timestamp::from_unix_millis(o.saturating_add(life));
        let token = TokenSet::new(AccessToken::new("t"), obtained, Some(expires));
        let r = token.renew_at(margin).unwrap();
        let e = expires.as_unix_millis();
        let half = (e - o) / 2;
        // Never after expiry, never before half-way, never more than `margin` early.
        prop_assert!(r <= expires);
        prop_assert!(r.as_unix_millis() >= o + half, "renew at {:?} before half-life of [{o}, {e}]", r);
        prop_assert!(u128::from(r.as_unix_millis()) >= u128::from(e).saturating_sub(millis_of(margin)));
        // Exactly `margin` early when the margin is within the first half.
        if millis_of(margin) <= u128::from(half) && margin.subsec_nanos() % 1_000_000 == 0 {
            prop_assert_eq!(u128::from(r.as_unix_millis()), u128::from(e) - millis_of(margin));
        }
        // Freshness agrees with validity.
        for now in [obtained, r, expires, Timestamp::from_unix_millis(e.saturating_sub(1))] {
            if token.is_fresh(now, margin) {
                prop_assert!(token.is_valid(now));
            }
            prop_assert_eq!(token.is_valid(now), now < expires);
        }
        let forever = TokenSet::new(AccessToken::new("t"), obtained, None);
        prop_assert_eq!(forever.renew_at(margin), None);
        prop_assert!(forever.is_valid(Timestamp::MAX));
    }

    /// A token whose expiry precedes its obtained time (a restored, skewed
    /// cache) is renewed at its expiry, never later.
    #[test]
    fn renew_at_with_skewed_times(o in arb_ms(), e in arb_ms(), margin in arb_duration()) {
        let token = TokenSet::new(AccessToken::new("t"), Timestamp::from_unix_millis(o), Some(Timestamp::from_unix_millis(e)));
        let r = token.renew_at(margin).unwrap();
        prop_assert!(r.as_unix_millis() <= e);
        if e <= o {
            prop_assert_eq!(r.as_unix_millis(), e);
        }
    }

    #[test]
    fn signature_base64_round_trips_wrapped(
        der in prop::collection::vec(any::<u8>(), 0..400),
        width in prop::sample::select(vec![64usize, 76]),
        crlf in any::<bool>(),
        strip_padding in any::<bool>(),
        trailing_newline in any::<bool>(),
        leading_space in any::<bool>(),
    ) {
        let sig = Signature::from_der(der.clone());
        let one_line = sig.to_base64();
        prop_assert_eq!(one_line.len(), der.len().div_ceil(3) * 4);
        prop_assert!(one_line.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
        let mut text = if strip_padding { one_line.trim_end_matches('=').to_owned() } else { one_line.clone() };
        let eol = if crlf { "\r\n" } else { "\n" };
        text = text
            .as_bytes()
            .chunks(width)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(eol);
        if trailing_newline {
            text.push_str(eol);
        }
        if leading_space {
            text.insert(0, ' ');
        }
        let back = Signature::from_base64(&text).unwrap();
        prop_assert_eq!(back.as_der(), &der[..]);
        prop_assert_eq!(back.to_base64(), one_line);
        prop_assert_eq!(back, sig);
    }

    #[test]
    fn signature_base64_rejects_foreign_characters(
        der in prop::collection::vec(any::<u8>(), 1..100),
        bad in prop::sample::select(vec!['!', '-', '_', '*', '.', ':', '"', '\0', 'é', '\u{7f}', '@', '$']),
        at in any::<prop::sample::Index>(),
    ) {
        let mut text: Vec<char> = Signature::from_der(der).to_base64().chars().collect();
        let i = at.index(text.len() + 1);
        text.insert(i, bad);
        let text: String = text.into_iter().collect();
        prop_assert_eq!(
            Signature::from_base64(&text),
            Err(Error::Usage(UsageError::InvalidSignatureEncoding)),
            "accepted {:?}", text
        );
    }

    #[test]
    fn signature_base64_rejects_data_after_padding(
        der in prop::collection::vec(any::<u8>(), 1..60),
        extra in "[A-Za-z0-9+/]{1,4}",
    ) {
        let encoded = Signature::from_der(der).to_base64();
        prop_assume!(encoded.ends_with('='));
        let text = format!("{encoded}{extra}");
        prop_assert!(Signature::from_base64(&text).is_err(), "accepted {:?}", text);
    }

    #[test]
    fn signature_base64_never_panics(text in prop_oneof![".*", "[A-Za-z0-9+/=\r\n \t]{0,64}"]) {
        if let Ok(sig) = Signature::from_base64(&text) {
            let symbols = text.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'=').count();
            prop_assert!(symbols % 4 != 1, "{:?}", text);
            prop_assert_eq!(sig.as_der().len(), symbols * 6 / 8);
            // What was decoded decodes again from its canonical form.
            prop_assert_eq!(Signature::from_base64(&sig.to_base64()).unwrap(), sig);
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// `true_api::sign_in_for` takes an INN exactly when it is 10 or 12
    /// ASCII digits, over any text (digit runs of every length, other
    /// Unicode digits, signs, spaces, anything); the body it sends is
    /// checked in crpt_requests.
    #[test]
    fn an_inn_is_taken_exactly_when_it_is_10_or_12_ascii_digits(
        inn in "[0-9]{0,14}|[0-9٠-٩０-９ +\\-\\n]{8,13}|\\PC{0,14}"
    ) {
        let base = tokendance::crpt::TrueApiStand::Demo.endpoint();
        let valid = matches!(inn.len(), 10 | 12) && inn.bytes().all(|b| b.is_ascii_digit());
        match tokendance::crpt::true_api::sign_in_for(&base, None, &inn) {
            Ok(_) => prop_assert!(valid, "took {:?}", inn),
            Err(e) => {
                prop_assert!(!valid, "refused {:?}: {}", inn, e);
                let refused_as_config = matches!(e, Error::Usage(UsageError::InvalidConfig { .. }));
                prop_assert!(refused_as_config, "{:?}", e);
            }
        }
    }
}
