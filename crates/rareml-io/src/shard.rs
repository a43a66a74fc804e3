//! Shards of a file's events for batch systems: shard I of N is the contiguous, deterministic slice
//! `⌊I·n/N⌋ .. ⌊(I+1)·n/N⌋` of n events, so the N shards cover every event exactly once.

use crate::error::{Error, Result};
use std::ops::Range;

/// Shard `index` of `count` (0 ≤ index < count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl Shard {
    /// The whole file as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`; errors unless 0 ≤ index < count.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || index >= count {
            return Err(Error::InvalidInput {
                what: "shard",
                reason: format!("{index}/{count}: expected I/N with 0 ≤ I < N"),
            });
        }
        Ok(Self { index, count })
    }

    /// The shard Slurm's job array gives this task (`SLURM_ARRAY_TASK_ID` counted from
    /// `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`), `None` outside an array job.
    pub fn from_slurm() -> Result<Option<Self>> {
        let var = |name: &str| -> Result<Option<usize>> {
            match std::env::var(name) {
                Err(_) => Ok(None),
                Ok(v) => v.trim().parse().map(Some).map_err(|_| Error::InvalidInput {
                    what: "shard",
                    reason: format!("{name}={v:?}: expected a number"),
                }),
            }
        };
        match (var("SLURM_ARRAY_TASK_ID")?, var("SLURM_ARRAY_TASK_COUNT")?) {
            (Some(id), Some(count)) => {
                let min = var("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
                let index = id.checked_sub(min).ok_or_else(|| Error::InvalidInput {
                    what: "shard",
                    reason: format!("SLURM_ARRAY_TASK_ID {id} below SLURM_ARRAY_TASK_MIN {min}"),
                })?;
                Self::new(index, count).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The events of this shard among `n`: `⌊I·n/N⌋ .. ⌊(I+1)·n/N⌋`.
    pub fn range(&self, n: usize) -> Range<usize> {
        let at = |i: usize| ((i as u128 * n as u128) / self.count as u128) as usize;
        at(self.index)..at(self.index + 1)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = Error;
    /// `I/N`, e.g. `3/8`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidInput {
            what: "shard",
            reason: format!("{s:?}: expected I/N with 0 ≤ I < N, e.g. 0/4"),
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (i, n) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        Self::new(i, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shards cover 0..n exactly once, in order, whatever n and N (more shards than events,
    /// one shard, uneven splits).
    #[test]
    fn shards_cover_every_event_once() {
        for n in [0usize, 1, 2, 7, 10, 1000, 1001] {
            for count in [1usize, 2, 3, 7, 16] {
                let mut next = 0;
                for index in 0..count {
                    let r = Shard::new(index, count).unwrap().range(n);
                    assert_eq!(r.start, next, "n {n} N {count} I {index}");
                    assert!(r.end >= r.start);
                    next = r.end;
                }
                assert_eq!(next, n);
            }
        }
        assert_eq!(Shard::new(1, 3).unwrap().range(10), 3..6);
        assert_eq!(
            Shard::new(0, 4).unwrap().range(2),
            0..0,
            "more shards than events: empty ones"
        );
        assert_eq!(Shard::ALL.range(5), 0..5);
    }

    #[test]
    fn parsing_and_bad_shards() {
        assert_eq!(
            "2/5".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 5 }
        );
        for bad in ["5/5", "1/0", "x/2", "3", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(Shard::new(2, 5).unwrap().to_string(), "2/5");
    }
}
