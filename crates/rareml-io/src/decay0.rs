//! DECAY0 generator files: the text format restG4 reads as an external generator.
//!
//! A free-text header ending with the line "First event and full number of events:" followed by
//! `first n_events`; then per event a line `number time n_particles` and one line per particle
//! `geant_id px py pz time_shift` (GEANT3 ids: 1 = gamma, 3 = electron, 2 = positron, 47 = alpha;
//! momentum in MeV/c; times in s). Numbers may use Fortran exponents (`-0.16E-01`, `1.0D-3`).
//!
//! [`Decay0Reader`] iterates events lazily; every error carries the file and the line number.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// Electron rest mass in MeV/c² (CODATA 2018: 0.51099895000 MeV).
pub const ELECTRON_MASS_MEV: f64 = 0.510_998_95;

/// Alpha-particle rest mass in MeV/c² (CODATA 2018: 3727.3794066 MeV).
pub const ALPHA_MASS_MEV: f64 = 3_727.379_406_6;

/// Particle species by GEANT3 id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Species {
    /// GEANT id 1.
    Gamma,
    /// GEANT id 2.
    Positron,
    /// GEANT id 3.
    Electron,
    /// GEANT id 47.
    Alpha,
    /// Any other id.
    Other(i32),
}

impl Species {
    /// From the GEANT3 id.
    pub fn from_geant(id: i32) -> Self {
        match id {
            1 => Self::Gamma,
            2 => Self::Positron,
            3 => Self::Electron,
            47 => Self::Alpha,
            other => Self::Other(other),
        }
    }

    /// Rest mass in MeV/c², `None` for unknown ids.
    pub fn mass_mev(self) -> Option<f64> {
        match self {
            Self::Gamma => Some(0.0),
            Self::Positron | Self::Electron => Some(ELECTRON_MASS_MEV),
            Self::Alpha => Some(ALPHA_MASS_MEV),
            Self::Other(_) => None,
        }
    }
}

/// One emitted particle.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Particle {
    /// GEANT3 particle id.
    pub geant_id: i32,
    /// Momentum (px, py, pz) in MeV/c.
    pub momentum_mev: [f64; 3],
    /// Time shift from the previous particle in s.
    pub time_shift_s: f64,
}

impl Particle {
    /// The species.
    pub fn species(&self) -> Species {
        Species::from_geant(self.geant_id)
    }

    /// |p| in MeV/c.
    pub fn momentum_abs_mev(&self) -> f64 {
        self.momentum_mev.iter().map(|p| p * p).sum::<f64>().sqrt()
    }

    /// Kinetic energy √(p² + m²) − m in MeV, `None` for unknown species.
    pub fn kinetic_energy_mev(&self) -> Option<f64> {
        let m = self.species().mass_mev()?;
        let p = self.momentum_abs_mev();
        // p²/(√(p²+m²)+m) avoids cancellation for p ≪ m.
        Some(if m == 0.0 {
            p
        } else {
            p * p / ((p * p + m * m).sqrt() + m)
        })
    }

    /// Unit direction of the momentum (`[0, 0, 0]` for p = 0).
    pub fn direction(&self) -> [f64; 3] {
        let p = self.momentum_abs_mev();
        if p == 0.0 {
            return [0.0; 3];
        }
        self.momentum_mev.map(|c| c / p)
    }
}

/// One decay event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decay0Event {
    /// Event number as written in the file.
    pub number: u64,
    /// Time of the event's start in s.
    pub time_s: f64,
    /// Emitted particles.
    pub particles: Vec<Particle>,
}

impl Decay0Event {
    /// Sum of the kinetic energies of the particles of `species`, in MeV (unknown species skipped).
    pub fn kinetic_energy_mev(&self, species: Species) -> f64 {
        self.particles
            .iter()
            .filter(|p| p.species() == species)
            .filter_map(|p| p.kinetic_energy_mev())
            .sum()
    }
}

/// The header of a DECAY0 file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decay0Header {
    /// The free text before the event count (event type, date, ...), lines trimmed.
    pub description: Vec<String>,
    /// Number of the first event.
    pub first_event: u64,
    /// Number of events the header announces.
    pub n_events: u64,
}

/// Lazy reader of a DECAY0 file: an iterator of `Result<Decay0Event>`.
pub struct Decay0Reader<R: BufRead> {
    lines: std::io::Lines<R>,
    file: PathBuf,
    line_no: usize,
    header: Decay0Header,
    read: u64,
    done: bool,
}

impl Decay0Reader<BufReader<File>> {
    /// Opens a file and parses its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        crate::error::regular_file(path)?;
        let f = File::open(path).map_err(|source| Error::Open {
            file: path.to_path_buf(),
            source,
        })?;
        Self::new(BufReader::new(f), path)
    }
}

/// Parses a Fortran-style real (`1.0E-3`, `1.0D-3`, `.5`).
fn parse_real(s: &str) -> Option<f64> {
    let v: f64 = s.replace(['D', 'd'], "E").parse().ok()?;
    v.is_finite().then_some(v)
}

/// Particles reserved ahead per event (DECAY0 events hold a handful; more grow as read).
const MAX_PREALLOCATED_PARTICLES: usize = 1024;

/// The header line DECAY0 ends its header with (lower case).
pub(crate) const HEADER_END: &str = "first event and full number of events";

impl<R: BufRead> Decay0Reader<R> {
    /// Wraps a reader; `name` is used in error messages. Parses the header.
    pub fn new(reader: R, name: impl AsRef<Path>) -> Result<Self> {
        let mut me = Self {
            lines: reader.lines(),
            file: name.as_ref().to_path_buf(),
            line_no: 0,
            header: Decay0Header {
                description: Vec::new(),
                first_event: 0,
                n_events: 0,
            },
            read: 0,
            done: false,
        };
        loop {
            let Some(line) = me.next_line()? else {
                return Err(me.err("end of file in the header: expected a line \"First event and full number of events:\"".to_string()));
            };
            if line.to_ascii_lowercase().contains(HEADER_END) {
                break;
            }
            let t = line.trim();
            if !t.is_empty() {
                me.header.description.push(t.to_string());
            }
        }
        let Some(line) = me.next_nonblank()? else {
            return Err(
                me.err("end of file: expected `first_event n_events` after the header".into())
            );
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            [a, b] => match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(first), Ok(n)) => {
                    me.header.first_event = first;
                    me.header.n_events = n;
                }
                _ => {
                    return Err(me.err(format!(
                        "expected two integers `first_event n_events`, found {:?}",
                        line.trim()
                    )))
                }
            },
            _ => {
                return Err(me.err(format!(
                    "expected two integers `first_event n_events`, found {:?}",
                    line.trim()
                )))
            }
        }
        Ok(me)
    }

    /// The parsed header.
    pub fn header(&self) -> &Decay0Header {
        &self.header
    }

    fn err(&self, reason: String) -> Error {
        Error::Decay0 {
            file: self.file.clone(),
            line: self.line_no,
            reason,
        }
    }

    fn next_line(&mut self) -> Result<Option<String>> {
        match self.lines.next() {
            None => Ok(None),
            Some(Err(source)) => Err(Error::Io {
                file: self.file.clone(),
                source,
            }),
            Some(Ok(l)) => {
                self.line_no += 1;
                Ok(Some(l))
            }
        }
    }

    fn next_nonblank(&mut self) -> Result<Option<String>> {
        while let Some(l) = self.next_line()? {
            if !l.trim().is_empty() {
                return Ok(Some(l));
            }
        }
        Ok(None)
    }

    fn parse_event(&mut self, line: &str) -> Result<Decay0Event> {
        let f: Vec<&str> = line.split_whitespace().collect();
        let parsed = match f.as_slice() {
            [num, time, n] => match (num.parse::<u64>(), parse_real(time), n.parse::<usize>()) {
                (Ok(num), Some(time), Ok(n)) => Some((num, time, n)),
                _ => None,
            },
            _ => None,
        };
        let Some((number, time_s, n)) = parsed else {
            return Err(self.err(format!(
                "expected an event line `number time n_particles`, found {:?}",
                line.trim()
            )));
        };
        // Reserve by the header's count only up to a bound: a damaged count (10¹⁴, 2⁶⁴−1) must
        // end in the truncation error below, not in an allocation failure.
        let mut particles = Vec::with_capacity(n.min(MAX_PREALLOCATED_PARTICLES));
        for k in 0..n {
            let Some(pl) = self.next_nonblank()? else {
                return Err(self.err(format!(
                    "truncated: end of file in event {number} after {k} of its {n} particles"
                )));
            };
            let f: Vec<&str> = pl.split_whitespace().collect();
            let p = match f.as_slice() {
                [id, px, py, pz, t] => match (
                    id.parse::<i32>(),
                    parse_real(px),
                    parse_real(py),
                    parse_real(pz),
                    parse_real(t),
                ) {
                    (Ok(id), Some(px), Some(py), Some(pz), Some(t)) => Some(Particle {
                        geant_id: id,
                        momentum_mev: [px, py, pz],
                        time_shift_s: t,
                    }),
                    _ => None,
                },
                _ => None,
            };
            particles.push(p.ok_or_else(|| {
                self.err(format!(
                    "event {number}, particle {}: expected `geant_id px py pz time_shift`, found {:?}",
                    k + 1,
                    pl.trim()
                ))
            })?);
        }
        Ok(Decay0Event {
            number,
            time_s,
            particles,
        })
    }
}

impl<R: BufRead> Iterator for Decay0Reader<R> {
    type Item = Result<Decay0Event>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = match self.next_nonblank() {
            Err(e) => Err(e),
            Ok(None) if self.read < self.header.n_events => Err(self.err(format!(
                "truncated: end of file after {} of the {} events the header announces",
                self.read, self.header.n_events
            ))),
            Ok(None) => {
                self.done = true;
                return None;
            }
            Ok(Some(_)) if self.read >= self.header.n_events => Err(self.err(format!(
                "more events than the {} the header announces",
                self.header.n_events
            ))),
            Ok(Some(line)) => self.parse_event(&line),
        };
        match &r {
            Ok(_) => self.read += 1,
            Err(_) => self.done = true,
        }
        Some(r)
    }
}

/// Reads a whole DECAY0 file into memory.
pub fn read_all(path: impl AsRef<Path>) -> Result<(Decay0Header, Vec<Decay0Event>)> {
    let reader = Decay0Reader::open(path)?;
    let header = reader.header().clone();
    let events = reader.collect::<Result<Vec<_>>>()?;
    Ok((header, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = " DECAY0 generated file: test\n\n event type: Xe136\n\n First event and full number of events:\n 1 2\n\n       1  0.00000       2\n  3  -1.06680     -0.991185      0.563944      0.00000\n  3  0.938544       1.20043     -0.887485      0.00000\n       2  0.00000       1\n  1  1.0D0  -0.163710E-01  0.0   1.5e-9\n";

    #[test]
    fn huge_particle_counts_end_as_truncation_not_allocation() {
        for n in ["18446744073709551615", "100000000000000"] {
            let text = format!(
                " First event and full number of events:\n 1 1\n 1 0.0 {n}\n 1 1.0 0.0 0.0 0.0\n"
            );
            let e = reader(&text).next().unwrap().unwrap_err().to_string();
            assert!(
                e.contains("truncated") && e.contains("after 1 of its"),
                "{e}"
            );
        }
    }

    #[test]
    fn more_events_than_the_header_announces_is_an_error() {
        let text = SAMPLE.replace(" 1 2\n", " 1 1\n");
        let r: Vec<_> = reader(&text).collect();
        assert!(r[0].is_ok());
        let e = r[1].as_ref().unwrap_err().to_string();
        assert!(
            e.contains("more events than the 1 the header announces"),
            "{e}"
        );
        assert_eq!(r.len(), 2);
    }

    fn reader(s: &str) -> Decay0Reader<std::io::Cursor<&[u8]>> {
        Decay0Reader::new(std::io::Cursor::new(s.as_bytes()), "mem.dat").unwrap()
    }

    #[test]
    fn parses_header_events_and_fortran_numbers() {
        let r = reader(SAMPLE);
        assert_eq!(r.header().n_events, 2);
        assert_eq!(r.header().first_event, 1);
        assert!(r.header().description.iter().any(|l| l.contains("Xe136")));
        let ev: Vec<_> = r.collect::<Result<_>>().unwrap();
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].particles.len(), 2);
        assert_eq!(
            ev[0].particles[1].momentum_mev,
            [0.938544, 1.20043, -0.887485]
        );
        assert_eq!(ev[1].particles[0].species(), Species::Gamma);
        assert_eq!(ev[1].particles[0].momentum_mev[0], 1.0);
        assert_eq!(ev[1].particles[0].momentum_mev[1], -0.016371);
        assert_eq!(ev[1].particles[0].time_shift_s, 1.5e-9);
        // A gamma's kinetic energy is its momentum.
        assert!(
            (ev[1].particles[0].kinetic_energy_mev().unwrap()
                - ev[1].particles[0].momentum_abs_mev())
            .abs()
                < 1e-15
        );
    }

    #[test]
    fn electron_kinetic_energy_is_relativistic() {
        let p = Particle {
            geant_id: 3,
            momentum_mev: [0.0, 0.0, 1.0],
            time_shift_s: 0.0,
        };
        let expected = (1.0f64 + ELECTRON_MASS_MEV * ELECTRON_MASS_MEV).sqrt() - ELECTRON_MASS_MEV;
        assert!((p.kinetic_energy_mev().unwrap() - expected).abs() < 1e-14);
        assert_eq!(Particle { geant_id: 99, ..p }.kinetic_energy_mev(), None);
    }

    #[test]
    fn truncated_inside_an_event_names_the_line() {
        let cut = SAMPLE.lines().take(9).collect::<Vec<_>>().join("\n");
        let errs: Vec<_> = reader(&cut).filter_map(|r| r.err()).collect();
        let msg = errs[0].to_string();
        assert!(
            msg.contains("mem.dat:9") && msg.contains("after 1 of its 2 particles"),
            "{msg}"
        );
    }

    #[test]
    fn missing_events_are_an_error() {
        let cut = SAMPLE.lines().take(10).collect::<Vec<_>>().join("\n");
        let r: Vec<_> = reader(&cut).collect();
        assert!(r[0].is_ok());
        let msg = r[1].as_ref().unwrap_err().to_string();
        assert!(msg.contains("after 1 of the 2 events"), "{msg}");
    }

    #[test]
    fn garbage_particle_line_names_line_and_content() {
        let bad = SAMPLE.replace("0.938544", "0.93x544");
        let msg = reader(&bad).find_map(|r| r.err()).unwrap().to_string();
        assert!(
            msg.contains("mem.dat:10") && msg.contains("0.93x544"),
            "{msg}"
        );
    }

    #[test]
    fn no_header_is_an_error() {
        let msg = Decay0Reader::new(std::io::Cursor::new(b"1 0.0 2\n".as_slice()), "x.dat")
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("x.dat") && msg.contains("header"), "{msg}");
    }

    #[test]
    fn missing_file_is_an_open_error() {
        let e = Decay0Reader::open("/nonexistent/file.dat").err().unwrap();
        assert!(matches!(e, Error::Open { .. }) && e.to_string().contains("/nonexistent/file.dat"));
    }
}
