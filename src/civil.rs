//! Unix seconds as a UTC calendar date and time, for the mock's Anyfast ids
//! and the `tasks` table. Days become a civil date by the proleptic
//! Gregorian calendar's 400-year eras (Howard Hinnant's algorithm); written
//! here because these two lines of output are all the crate needs of dates.

/// A UTC date and time, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
}

/// `secs` since 1970-01-01 00:00:00 UTC.
pub(crate) fn civil(secs: i64) -> Civil {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    Civil {
        year: yoe + era * 400 + i64::from(month <= 2),
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_utc_civil_dates() {
        let at = |s| {
            let c = civil(s);
            (c.year, c.month, c.day, c.hour, c.minute, c.second)
        };
        assert_eq!(at(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(at(1_773_357_089), (2026, 3, 12, 23, 11, 29));
        assert_eq!(at(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(at(4_102_444_799), (2099, 12, 31, 23, 59, 59));
        assert_eq!(at(-1), (1969, 12, 31, 23, 59, 59));
    }
}
