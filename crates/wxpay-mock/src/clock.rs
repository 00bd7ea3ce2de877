//! Wall-clock time in Unix milliseconds, and WeChat's Beijing-time (UTC+8) formats.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Calendar fields of a Unix-millisecond instant in Beijing time (no DST in China).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Beijing {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Beijing {
    pub fn at(ms: u64) -> Self {
        let secs = (ms / 1000) as i64 + 8 * 3600;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
        }
    }

    /// `yyyyMMddHHmmss` (`time_end`).
    pub fn compact(&self) -> String {
        format!(
            "{}{:02}{:02}{:02}",
            self.date(),
            self.hour,
            self.minute,
            self.second
        )
    }

    /// `yyyyMMdd` (`bill_date`).
    pub fn date(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// `yyyy-MM-dd HH:mm:ss` (bills, refund `success_time`).
    pub fn dashed(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Beijing;

    #[test]
    fn beijing_formats() {
        // 2026-11-27 02:00:00 UTC is 10:00 in Beijing.
        let b = Beijing::at(1_795_744_800_000);
        assert_eq!(b.dashed(), "2026-11-27 10:00:00");
        assert_eq!(b.compact(), "20261127100000");
        assert_eq!(b.date(), "20261127");
        // 16:00 UTC on 2024-02-28 is already Feb 29 in Beijing (leap year).
        assert_eq!(Beijing::at(1_709_136_000_000).date(), "20240229");
    }
}
