//! The readout a REST file stores (`TRestReadout` in REST 2.2, `TRestDetectorReadout` later):
//! planes → modules → channels → pixels, decoded by the file's own class descriptions, and the
//! strip each DAQ signal id is (axis and position), by REST's own rule
//! (`TRestDetectorReadoutPlane::GetX`/`GetY`): a channel of several pixels is a strip along the
//! direction from its first to its last pixel centre (swapped in a module rotated by an odd
//! multiple of 90°); it measures the other coordinate, at its first pixel's centre in the plane's
//! frame (module rotation about, then translation to, the module origin). A one-pixel channel
//! measures x unless its pixel is more than twice as long in x as in y, and y likewise; a square
//! pixel measures both, so it is a pixel, not a strip.

use crate::root::object::{Object, Value};
use crate::tpc::{Readout, StripAxis};

/// One readout channel: a DAQ signal id and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadoutChannel {
    /// DAQ signal id (`fDaqID`): the id raw signals carry.
    pub signal_id: i32,
    /// The coordinate the strip measures; `None` for a pixel (both or neither).
    pub axis: Option<StripAxis>,
    /// Strip position along its measured axis in the readout plane's frame, mm (for a pixel:
    /// its x).
    pub position_mm: f64,
    /// Its first pixel's centre in the plane's frame (x, y), mm.
    pub centre_mm: (f64, f64),
    /// Readout plane id.
    pub plane: i64,
    /// Module id (`fModuleID`).
    pub module: i64,
    /// Channel id inside the module.
    pub channel: i64,
    /// Pixels forming the channel.
    pub pixels: usize,
}

/// A file's readout.
#[derive(Debug, Clone, PartialEq)]
pub struct RestReadout {
    /// Key name (`PandaReadout_MxM`).
    pub name: String,
    /// Class (`TRestReadout`, `TRestDetectorReadout`).
    pub class: String,
    /// Readout planes.
    pub planes: usize,
    /// Modules over all planes.
    pub modules: usize,
    /// Every channel.
    pub channels: Vec<ReadoutChannel>,
}

impl RestReadout {
    /// Channels that are strips measuring `axis`.
    pub fn strips(&self, axis: StripAxis) -> usize {
        self.channels
            .iter()
            .filter(|c| c.axis == Some(axis))
            .count()
    }

    /// Median distance between neighbouring strips of `axis` inside a module, mm.
    pub fn pitch_mm(&self, axis: StripAxis) -> Option<f64> {
        let mut gaps = Vec::new();
        let mut modules: Vec<(i64, i64)> =
            self.channels.iter().map(|c| (c.plane, c.module)).collect();
        modules.sort_unstable();
        modules.dedup();
        for m in modules {
            let mut p: Vec<f64> = self
                .channels
                .iter()
                .filter(|c| (c.plane, c.module) == m && c.axis == Some(axis))
                .map(|c| c.position_mm)
                .collect();
            p.sort_by(f64::total_cmp);
            gaps.extend(p.windows(2).map(|w| w[1] - w[0]).filter(|g| *g > 1e-6));
        }
        if gaps.is_empty() {
            return None;
        }
        gaps.sort_by(f64::total_cmp);
        Some(gaps[gaps.len() / 2])
    }

    /// The strip readout the TPC format stores: every strip channel (pixels are left out).
    /// Errors when a signal id repeats or when there is no strip.
    pub fn to_strip_readout(&self) -> std::result::Result<Readout, String> {
        let strips: Vec<&ReadoutChannel> =
            self.channels.iter().filter(|c| c.axis.is_some()).collect();
        if strips.is_empty() {
            return Err(format!(
                "readout {}: none of its {} channels is a strip (a pixel readout: give --readout)",
                self.name,
                self.channels.len()
            ));
        }
        Readout::new(
            strips.iter().map(|c| c.signal_id).collect(),
            strips.iter().filter_map(|c| c.axis).collect(),
            strips.iter().map(|c| c.position_mm as f32).collect(),
        )
        .map_err(|e| format!("readout {}: {e}", self.name))
    }

    /// Decodes the readout from the decoded `TRestReadout`/`TRestDetectorReadout` object.
    pub fn from_object(name: &str, class: &str, v: &Value) -> std::result::Result<Self, String> {
        let o = v
            .as_object()
            .ok_or_else(|| format!("readout {name}: not decoded ({})", describe(v)))?;
        let planes = list(o, &["fReadoutPlanes"], "readout")?;
        let mut channels = Vec::new();
        let mut modules = 0;
        for (pi, p) in planes.iter().enumerate() {
            let p = p
                .as_object()
                .ok_or_else(|| format!("plane {pi}: not decoded ({})", describe(p)))?;
            let plane_id = int(p, &["fPlaneID", "fId"]).unwrap_or(pi as i64);
            let where_p = format!("plane {plane_id}");
            for (mi, m) in list(p, &["fReadoutModules"], &where_p)?.iter().enumerate() {
                modules += 1;
                let m = m.as_object().ok_or_else(|| {
                    format!("{where_p} module {mi}: not decoded ({})", describe(m))
                })?;
                let module_id = int(m, &["fModuleID", "fId"]).unwrap_or(mi as i64);
                let where_m = format!("{where_p} module {module_id}");
                let origin = xy(
                    m,
                    ("fModuleOriginX", "fModuleOriginY"),
                    &["fModuleOrigin", "fOrigin"],
                )
                .ok_or_else(|| format!("{where_m}: no origin"))?;
                // degrees in REST ≤ 2.3 (fModuleRotation), radians in the newest (fRotation)
                let rotation_rad = match num(m, &["fModuleRotation"]) {
                    Some(deg) => deg.to_radians(),
                    None => num(m, &["fRotation"]).unwrap_or(0.0),
                };
                let rotation_deg = rotation_rad.to_degrees().round() as i64;
                for (ci, ch) in list(m, &["fReadoutChannel"], &where_m)?.iter().enumerate() {
                    let ch = ch
                        .as_object()
                        .ok_or_else(|| format!("{where_m} channel {ci}: not decoded"))?;
                    let signal_id = int(ch, &["fDaqID", "fDaqId"])
                        .ok_or_else(|| format!("{where_m} channel {ci}: no fDaqID"))?;
                    let channel =
                        int(ch, &["fChannelId", "fChannelID", "fId"]).unwrap_or(ci as i64);
                    let pixels = list(
                        ch,
                        &["fReadoutPixel"],
                        &format!("{where_m} channel {channel}"),
                    )?;
                    let px: Vec<Pixel> = pixels
                        .iter()
                        .filter_map(Value::as_object)
                        .map(pixel)
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|e| format!("{where_m} channel {channel}: {e}"))?;
                    let Some(first) = px.first() else {
                        return Err(format!(
                            "{where_m} channel {channel} (signal id {signal_id}): no pixels"
                        ));
                    };
                    let local = first.centre();
                    let (s, c) = rotation_rad.sin_cos();
                    let centre = (
                        origin.0 + local.0 * c - local.1 * s,
                        origin.1 + local.0 * s + local.1 * c,
                    );
                    let axis = channel_axis(&px, rotation_deg);
                    let position_mm = match axis {
                        Some(StripAxis::Y) => centre.1,
                        _ => centre.0,
                    };
                    if !position_mm.is_finite() {
                        return Err(format!(
                            "{where_m} channel {channel}: position {position_mm}"
                        ));
                    }
                    channels.push(ReadoutChannel {
                        signal_id: signal_id as i32,
                        axis,
                        position_mm,
                        centre_mm: centre,
                        plane: plane_id,
                        module: module_id,
                        channel,
                        pixels: px.len(),
                    });
                }
            }
        }
        Ok(RestReadout {
            name: name.to_string(),
            class: class.to_string(),
            planes: planes.len(),
            modules,
            channels,
        })
    }
}

/// One pixel: origin (corner), size and rotation about the origin.
struct Pixel {
    origin: (f64, f64),
    size: (f64, f64),
    rotation_deg: f64,
}

impl Pixel {
    /// Centre in the module's frame: origin + rotated half-diagonal.
    fn centre(&self) -> (f64, f64) {
        let (s, c) = self.rotation_deg.to_radians().sin_cos();
        let (hx, hy) = (self.size.0 / 2.0, self.size.1 / 2.0);
        (
            self.origin.0 + hx * c - hy * s,
            self.origin.1 + hx * s + hy * c,
        )
    }
}

fn pixel(o: &Object) -> std::result::Result<Pixel, String> {
    Ok(Pixel {
        origin: xy(o, ("fPixelOriginX", "fPixelOriginY"), &["fOrigin"])
            .ok_or("pixel without origin")?,
        size: xy(o, ("fPixelSizeX", "fPixelSizeY"), &["fSize"]).ok_or("pixel without size")?,
        rotation_deg: num(o, &["fRotation"]).unwrap_or(0.0),
    })
}

/// REST's strip rule (see the module docs).
fn channel_axis(px: &[Pixel], module_rotation_deg: i64) -> Option<StripAxis> {
    if px.len() == 1 {
        let (sx, sy) = px[0].size;
        return match (sx > 2.0 * sy, sy > 2.0 * sx) {
            (true, false) => Some(StripAxis::Y),
            (false, true) => Some(StripAxis::X),
            _ => None,
        };
    }
    let (a, b) = (px[0].centre(), px[px.len() - 1].centre());
    let (dx, dy) = ((b.0 - a.0).abs(), (b.1 - a.1).abs());
    if dx == dy {
        return None;
    }
    let swapped = module_rotation_deg % 90 == 0 && (module_rotation_deg / 90) % 2 != 0;
    let along_y = (dy > dx) != swapped;
    Some(if along_y { StripAxis::X } else { StripAxis::Y })
}

fn member<'o>(o: &'o Object, names: &[&str]) -> Option<&'o Value> {
    names.iter().find_map(|n| o.get(n))
}

fn int(o: &Object, names: &[&str]) -> Option<i64> {
    member(o, names).and_then(Value::as_i64)
}

fn num(o: &Object, names: &[&str]) -> Option<f64> {
    member(o, names).and_then(Value::as_f64)
}

fn list<'o>(o: &'o Object, names: &[&str], what: &str) -> std::result::Result<&'o [Value], String> {
    match member(o, names) {
        Some(Value::List(l)) => Ok(l),
        Some(other) => Err(format!(
            "{what}: {} not decoded ({})",
            names[0],
            describe(other)
        )),
        None => Err(format!(
            "{what}: no member {} (class {})",
            names[0], o.class
        )),
    }
}

/// A pair of numbers stored as two members or as one `TVector2`.
fn xy(o: &Object, pair: (&str, &str), vector: &[&str]) -> Option<(f64, f64)> {
    if let (Some(x), Some(y)) = (num(o, &[pair.0]), num(o, &[pair.1])) {
        return Some((x, y));
    }
    let v = member(o, vector)?.as_object()?;
    Some((num(v, &["fX"])?, num(v, &["fY"])?))
}

fn describe(v: &Value) -> String {
    match v {
        Value::Skipped(why) => why.clone(),
        Value::Null => "null".into(),
        Value::Object(o) => format!("object of class {}", o.class),
        _ => "not an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn px(x: f64, y: f64, sx: f64, sy: f64) -> Pixel {
        Pixel {
            origin: (x, y),
            size: (sx, sy),
            rotation_deg: 0.0,
        }
    }

    #[test]
    fn strips_follow_rests_rule() {
        // pixels stacked along y: a strip along y, measuring x; swapped at ±90°, not at 180°
        let along_y = [
            px(6.0, 0.0, 1.0, 1.0),
            px(6.0, 3.0, 1.0, 1.0),
            px(6.0, 6.0, 1.0, 1.0),
        ];
        assert_eq!(channel_axis(&along_y, 0), Some(StripAxis::X));
        assert_eq!(channel_axis(&along_y, 180), Some(StripAxis::X));
        assert_eq!(channel_axis(&along_y, 90), Some(StripAxis::Y));
        assert_eq!(channel_axis(&along_y, -90), Some(StripAxis::Y));
        let along_x = [px(0.0, 2.0, 1.0, 1.0), px(9.0, 2.0, 1.0, 1.0)];
        assert_eq!(channel_axis(&along_x, 0), Some(StripAxis::Y));
        // one long pixel: measures the short side's coordinate; a square one is a pixel
        assert_eq!(
            channel_axis(&[px(0.0, 0.0, 1.0, 90.0)], 0),
            Some(StripAxis::X)
        );
        assert_eq!(
            channel_axis(&[px(0.0, 0.0, 90.0, 1.0)], 0),
            Some(StripAxis::Y)
        );
        assert_eq!(channel_axis(&[px(0.0, 0.0, 3.0, 3.0)], 0), None);
    }

    #[test]
    fn pixel_centres_rotate_about_the_origin() {
        let p = Pixel {
            origin: (6.0, 0.75),
            size: (2.0_f64.sqrt() * 1.5, 2.0_f64.sqrt() * 1.5),
            rotation_deg: 45.0,
        };
        let (x, y) = p.centre();
        assert!(
            (x - 6.0).abs() < 1e-12 && (y - 2.25).abs() < 1e-12,
            "({x}, {y})"
        );
    }
}
