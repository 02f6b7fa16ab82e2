//! Local wall-clock time for the terminal's `HH:MM` stamps. The zone is the
//! system's (`TZ`, else `/etc/localtime`), read by jiff; a zone that cannot be
//! read falls back to UTC, so a stamp is always shown.

use std::sync::OnceLock;

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A time zone for stamps.
#[derive(Debug, Clone)]
pub struct Zone(TimeZone);

impl Zone {
    /// UTC.
    pub const fn utc() -> Zone {
        Zone(TimeZone::UTC)
    }

    /// The zone of this process, read once.
    pub fn local() -> &'static Zone {
        static LOCAL: OnceLock<Zone> = OnceLock::new();
        LOCAL.get_or_init(|| Zone(TimeZone::try_system().unwrap_or(TimeZone::UTC)))
    }

    /// A zone by its IANA name, if the system's database has it.
    pub fn named(name: &str) -> Option<Zone> {
        TimeZone::get(name).ok().map(Zone)
    }
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    Timestamp::now().as_second()
}

fn zoned(zone: &Zone, t: i64) -> Option<jiff::Zoned> {
    Timestamp::from_second(t)
        .ok()
        .map(|ts| ts.to_zoned(zone.0.clone()))
}

/// `HH:MM` of Unix time `t` in `zone` (`--:--` for a time out of range).
pub fn hhmm(zone: &Zone, t: i64) -> String {
    zoned(zone, t).map_or_else(
        || "--:--".to_owned(),
        |z| format!("{:02}:{:02}", z.hour(), z.minute()),
    )
}

/// `YYYY-MM-DD` of Unix time `t` in `zone` (`----------` out of range).
pub fn date(zone: &Zone, t: i64) -> String {
    zoned(zone, t).map_or_else(
        || "----------".to_owned(),
        |z| format!("{:04}-{:02}-{:02}", z.year(), z.month(), z.day()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        let utc = Zone::utc();
        assert_eq!(hhmm(&utc, 1_763_713_200), "08:20");
        assert_eq!(date(&utc, 1_763_713_200), "2025-11-21");
        assert_eq!(hhmm(&utc, 0), "00:00");
    }

    #[test]
    fn named_zones_apply_their_offset_when_the_system_has_them() {
        // Debian images ship tzdata; where a zone is missing there is nothing to check.
        if let Some(z) = Zone::named("Asia/Kolkata") {
            assert_eq!(hhmm(&z, 1_763_713_200), "13:50");
        }
    }

    #[test]
    fn out_of_range_times_show_placeholders() {
        assert_eq!(hhmm(&Zone::utc(), i64::MAX), "--:--");
        assert_eq!(date(&Zone::utc(), i64::MIN), "----------");
    }
}
