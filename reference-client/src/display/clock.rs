//! Local wall-clock time for the terminal's `HH:MM` stamps, without a time
//! crate: the zone comes from `TZ` (a zoneinfo name, a path, or a POSIX rule
//! such as `CET-1CEST,M3.5.0,M10.5.0/3`) or `/etc/localtime`, read as TZif
//! (RFC 8536). Anything that cannot be read falls back to UTC.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// A time zone: UTC offsets in seconds east of Greenwich.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Zone {
    /// Transition times (Unix seconds), ascending, and the offset from each on.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition.
    initial: i32,
    /// The rule after the last transition (the TZif footer), if any.
    rule: Option<PosixRule>,
}

/// A POSIX `TZ` rule: a standard offset and maybe a daylight-saving one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PosixRule {
    std: i32,
    dst: Option<(i32, DateRule, i64, DateRule, i64)>,
}

/// When daylight saving starts or ends: `Mm.w.d`, `Jn` or `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateRule {
    /// Day `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    MonthWeekDay(u32, u32, u32),
    /// Day 1..=365, February 29 never counted.
    Julian1(u32),
    /// Day 0..=365, February 29 counted.
    Julian0(u32),
}

impl Zone {
    /// UTC.
    pub const fn utc() -> Zone {
        Zone {
            transitions: Vec::new(),
            initial: 0,
            rule: None,
        }
    }

    /// The zone of this process (`TZ`, else `/etc/localtime`), read once.
    pub fn local() -> &'static Zone {
        static LOCAL: OnceLock<Zone> = OnceLock::new();
        LOCAL.get_or_init(|| Zone::from_env(std::env::var("TZ").ok().as_deref()))
    }

    fn from_env(tz: Option<&str>) -> Zone {
        let read = |p: &Path| std::fs::read(p).ok().and_then(|b| Zone::from_tzif(&b));
        match tz {
            None => read(Path::new("/etc/localtime")).unwrap_or_default(),
            Some(tz) => {
                let name = tz.strip_prefix(':').unwrap_or(tz);
                if name.is_empty() {
                    return Zone::utc();
                }
                let path = if name.starts_with('/') {
                    Path::new(name).to_path_buf()
                } else if name.split('/').any(|c| c == "..") {
                    return Zone::utc();
                } else {
                    Path::new("/usr/share/zoneinfo").join(name)
                };
                read(&path)
                    .or_else(|| {
                        PosixRule::parse(name).map(|rule| Zone {
                            initial: rule.std,
                            rule: Some(rule),
                            ..Zone::default()
                        })
                    })
                    .unwrap_or_default()
            }
        }
    }

    /// Reads a TZif file (version 1, or the 64-bit data of version 2 and later,
    /// with its footer rule).
    pub fn from_tzif(b: &[u8]) -> Option<Zone> {
        let (v1, counts) = header(b)?;
        let v1_len = block_len(&counts, 4);
        let body = b.get(44..)?;
        if v1 == 0 {
            return block(body, &counts, 4, None);
        }
        let rest = body.get(v1_len..)?;
        let (_, counts2) = header(rest)?;
        let body2 = rest.get(44..)?;
        let len2 = block_len(&counts2, 8);
        let footer = body2
            .get(len2..)
            .and_then(|f| std::str::from_utf8(f).ok())
            .map(|f| f.trim_matches('\n'))
            .and_then(PosixRule::parse);
        block(body2, &counts2, 8, footer)
    }

    /// The offset in seconds at Unix time `t`.
    pub fn offset_at(&self, t: i64) -> i32 {
        let i = self.transitions.partition_point(|&(at, _)| at <= t);
        if i == self.transitions.len()
            && let Some(rule) = &self.rule
        {
            return rule.offset_at(t);
        }
        match i {
            0 => self.initial,
            i => self.transitions[i - 1].1,
        }
    }
}

/// TZif header: version (0 for 1) and the six counts.
fn header(b: &[u8]) -> Option<(u8, [usize; 6])> {
    if b.get(..4)? != b"TZif" {
        return None;
    }
    let version = *b.get(4)?;
    let mut counts = [0usize; 6];
    for (i, c) in counts.iter_mut().enumerate() {
        let at = 20 + 4 * i;
        *c = u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
    }
    Some((version, counts))
}

/// Length of a data block: counts are isutcnt, isstdcnt, leapcnt, timecnt,
/// typecnt, charcnt; `w` is the width of times (4 or 8).
fn block_len(c: &[usize; 6], w: usize) -> usize {
    let [isut, isstd, leap, time, typ, chars] = *c;
    time * w + time + typ * 6 + chars + leap * (w + 4) + isstd + isut
}

fn block(b: &[u8], c: &[usize; 6], w: usize, rule: Option<PosixRule>) -> Option<Zone> {
    let [_, _, _, timecnt, typecnt, _] = *c;
    if typecnt == 0 {
        return None;
    }
    let times = b.get(..timecnt * w)?;
    let idx = b.get(timecnt * w..timecnt * w + timecnt)?;
    let types_at = timecnt * w + timecnt;
    // Every type is in the file (which also bounds the loops below).
    b.get(types_at..types_at + typecnt * 6)?;
    let ttinfo = |i: usize| -> Option<(i32, bool)> {
        let t = b.get(types_at + 6 * i..types_at + 6 * i + 6)?;
        Some((i32::from_be_bytes(t[..4].try_into().ok()?), t[4] != 0))
    };
    let mut transitions = Vec::with_capacity(timecnt);
    for i in 0..timecnt {
        let at = if w == 4 {
            i64::from(i32::from_be_bytes(times[4 * i..4 * i + 4].try_into().ok()?))
        } else {
            i64::from_be_bytes(times[8 * i..8 * i + 8].try_into().ok()?)
        };
        let (off, _) = ttinfo(usize::from(idx[i]))?;
        transitions.push((at, off));
    }
    // Before the first transition: the first standard-time type (RFC 8536 3.2).
    let initial = (0..typecnt)
        .filter_map(ttinfo)
        .find(|(_, dst)| !dst)
        .or_else(|| ttinfo(0))
        .map(|(o, _)| o)?;
    Some(Zone {
        transitions,
        initial,
        rule,
    })
}

impl PosixRule {
    /// Parses `std offset [dst [offset] [,start[/time],end[/time]]]`.
    fn parse(s: &str) -> Option<PosixRule> {
        let mut p = Cursor(s.as_bytes());
        p.name()?;
        let std = -p.offset()?;
        if p.0.is_empty() {
            return Some(PosixRule { std, dst: None });
        }
        p.name()?;
        let dst_off = match p.0.first() {
            Some(b',') | None => std.saturating_add(3600),
            _ => -p.offset()?,
        };
        // No rule given: the US rules, the POSIX default.
        let (start, start_t, end, end_t) = if p.0.is_empty() {
            (
                DateRule::MonthWeekDay(3, 2, 0),
                7200,
                DateRule::MonthWeekDay(11, 1, 0),
                7200,
            )
        } else {
            p.eat(b',')?;
            let (s, st) = p.date_time()?;
            p.eat(b',')?;
            let (e, et) = p.date_time()?;
            (s, st, e, et)
        };
        if !p.0.is_empty() {
            return None;
        }
        Some(PosixRule {
            std,
            dst: Some((dst_off, start, start_t, end, end_t)),
        })
    }

    fn offset_at(&self, t: i64) -> i32 {
        let Some((dst, start, start_t, end, end_t)) = self.dst else {
            return self.std;
        };
        let (year, ..) = civil(t + i64::from(self.std));
        let starts = start.day(year) * 86_400 + start_t - i64::from(self.std);
        let ends = end.day(year) * 86_400 + end_t - i64::from(dst);
        let in_dst = if starts < ends {
            (starts..ends).contains(&t)
        } else {
            !(ends..starts).contains(&t)
        };
        if in_dst { dst } else { self.std }
    }
}

impl DateRule {
    /// The day (days since the Unix epoch) this rule names in `year`.
    fn day(self, year: i64) -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        let leap = is_leap(year);
        match self {
            DateRule::Julian0(n) => jan1 + i64::from(n),
            DateRule::Julian1(n) => {
                let n = i64::from(n);
                jan1 + n - 1 + i64::from(leap && n >= 60)
            }
            DateRule::MonthWeekDay(m, w, d) => {
                let first = days_from_civil(year, m, 1);
                // 1970-01-01 was a Thursday (4).
                let wd_first = (first + 4).rem_euclid(7);
                let mut day =
                    first + (i64::from(d) - wd_first).rem_euclid(7) + 7 * (i64::from(w) - 1);
                let next_month = if m == 12 {
                    days_from_civil(year + 1, 1, 1)
                } else {
                    days_from_civil(year, m + 1, 1)
                };
                while day >= next_month {
                    day -= 7;
                }
                day
            }
        }
    }
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn eat(&mut self, c: u8) -> Option<()> {
        let (&first, rest) = self.0.split_first()?;
        (first == c).then(|| self.0 = rest)
    }

    /// A zone abbreviation: 3+ letters, or `<...>`.
    fn name(&mut self) -> Option<()> {
        if self.eat(b'<').is_some() {
            let end = self.0.iter().position(|&c| c == b'>')?;
            self.0 = &self.0[end + 1..];
            return Some(());
        }
        let n = self
            .0
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        (n >= 3).then(|| self.0 = &self.0[n..])
    }

    fn number(&mut self) -> Option<i64> {
        let n = self.0.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 6 {
            return None;
        }
        let v = std::str::from_utf8(&self.0[..n]).ok()?.parse().ok()?;
        self.0 = &self.0[n..];
        Some(v)
    }

    /// `[+-]hh[:mm[:ss]]` in seconds.
    fn hms(&mut self) -> Option<i64> {
        let sign = if self.eat(b'-').is_some() {
            -1
        } else {
            let _ = self.eat(b'+');
            1
        };
        // POSIX allows hours up to 167 (times of day in rules); no more, so
        // that nothing below can overflow.
        let hours = self.number().filter(|h| *h <= 167)?;
        let mut secs = hours * 3600;
        if self.eat(b':').is_some() {
            secs += self.number().filter(|m| *m < 60)? * 60;
            if self.eat(b':').is_some() {
                secs += self.number().filter(|s| *s < 60)?;
            }
        }
        Some(sign * secs)
    }

    fn offset(&mut self) -> Option<i32> {
        i32::try_from(self.hms()?).ok()
    }

    fn date_time(&mut self) -> Option<(DateRule, i64)> {
        let num = |c: &mut Self| c.number().and_then(|n| u32::try_from(n).ok());
        let rule = if self.eat(b'M').is_some() {
            let m = num(self)?;
            self.eat(b'.')?;
            let w = num(self)?;
            self.eat(b'.')?;
            let d = num(self)?;
            if !(1..=12).contains(&m) || !(1..=5).contains(&w) || d > 6 {
                return None;
            }
            DateRule::MonthWeekDay(m, w, d)
        } else if self.eat(b'J').is_some() {
            DateRule::Julian1(num(self)?.clamp(1, 365))
        } else {
            DateRule::Julian0(num(self)?.min(365))
        };
        let time = if self.eat(b'/').is_some() {
            self.hms()?
        } else {
            7200
        };
        Some((rule, time))
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date and time of a count of seconds since the epoch:
/// (year, month, day, hour, minute).
pub fn civil(secs: i64) -> (i64, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, (rem / 3600) as u32, (rem % 3600 / 60) as u32)
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `HH:MM` of Unix time `t` in `zone`.
pub fn hhmm(zone: &Zone, t: i64) -> String {
    let (.., h, m) = civil(t + i64::from(zone.offset_at(t)));
    format!("{h:02}:{m:02}")
}

/// `YYYY-MM-DD` of Unix time `t` in `zone`.
pub fn date(zone: &Zone, t: i64) -> String {
    let (y, mo, d, ..) = civil(t + i64::from(zone.offset_at(t)));
    format!("{y:04}-{mo:02}-{d:02}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0));
        assert_eq!(civil(1_763_713_200), (2025, 11, 21, 8, 20));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0));
        assert_eq!(days_from_civil(2000, 2, 29), 951_782_400 / 86_400);
        assert_eq!(civil(-1), (1969, 12, 31, 23, 59));
    }

    #[test]
    fn posix_rules() {
        let cet = PosixRule::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        // 2025-03-30 00:59:59 UTC is still winter time, 01:00 UTC is summer time.
        let change = days_from_civil(2025, 3, 30) * 86_400 + 3600;
        assert_eq!(cet.offset_at(change - 1), 3600);
        assert_eq!(cet.offset_at(change), 7200);
        // Back at 2025-10-26 01:00 UTC.
        let back = days_from_civil(2025, 10, 26) * 86_400 + 3600;
        assert_eq!(cet.offset_at(back - 1), 7200);
        assert_eq!(cet.offset_at(back), 3600);
        // Southern hemisphere: daylight saving across the new year.
        let nz = PosixRule::parse("NZST-12NZDT,M9.5.0,M4.1.0/3").unwrap();
        assert_eq!(
            nz.offset_at(days_from_civil(2025, 1, 15) * 86_400),
            13 * 3600
        );
        assert_eq!(
            nz.offset_at(days_from_civil(2025, 7, 15) * 86_400),
            12 * 3600
        );
        assert_eq!(PosixRule::parse("UTC0").unwrap().offset_at(0), 0);
        assert_eq!(PosixRule::parse("<+0530>-5:30").unwrap().std, 19_800);
        assert_eq!(PosixRule::parse("EST5EDT").unwrap().std, -5 * 3600);
        assert!(PosixRule::parse("nonsense").is_none());
        assert!(PosixRule::parse("AAA99999999999999999999").is_none());
        assert!(PosixRule::parse("AAA168").is_none());
        assert!(PosixRule::parse("AAA-2:99").is_none());
    }

    #[test]
    fn tzif_files_when_the_system_has_them() {
        let Ok(paris) = std::fs::read("/usr/share/zoneinfo/Europe/Paris") else {
            return;
        };
        let z = Zone::from_tzif(&paris).unwrap();
        let winter = days_from_civil(2025, 1, 15) * 86_400;
        let summer = days_from_civil(2025, 7, 15) * 86_400;
        assert_eq!(z.offset_at(winter), 3600);
        assert_eq!(z.offset_at(summer), 7200);
        // Beyond the table: the footer rule.
        assert_eq!(z.offset_at(days_from_civil(2200, 7, 15) * 86_400), 7200);
        assert_eq!(hhmm(&z, summer + 9 * 3600 + 5 * 60), "11:05");
        // A damaged file is an error (or a shorter zone), never a panic.
        for n in 0..paris.len() {
            let _ = Zone::from_tzif(&paris[..n]).map(|z| z.offset_at(summer));
        }
        let mut flipped = paris.clone();
        for i in (0..flipped.len()).step_by(7) {
            flipped[i] ^= 0xa5;
            let _ = Zone::from_tzif(&flipped).map(|z| z.offset_at(summer));
        }
    }

    #[test]
    fn bad_input_is_utc() {
        assert_eq!(Zone::from_tzif(b"nonsense"), None);
        assert_eq!(Zone::from_env(Some("../../etc/passwd")), Zone::utc());
        assert_eq!(Zone::from_env(Some("")), Zone::utc());
        assert_eq!(Zone::from_env(Some("No/Such_Zone")).offset_at(0), 0);
        assert_eq!(hhmm(&Zone::utc(), 1_763_713_200), "08:20");
        assert_eq!(date(&Zone::utc(), 1_763_713_200), "2025-11-21");
        let z = Zone::from_env(Some("CET-1CEST,M3.5.0,M10.5.0/3"));
        assert_eq!(hhmm(&z, 1_763_713_200), "09:20");
    }
}
