//! The file's own class descriptions (`TStreamerInfo`): for each class and version, its members
//! in streaming order. They are read once from the file's `StreamerInfo` record and drive the
//! decoding of every other object.

use super::cursor::{Cursor, R};
use std::collections::HashMap;

/// What kind of member an element describes (`TStreamerElement` subclasses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementKind {
    /// A base class (`TStreamerBase`).
    Base,
    /// A number or fixed array of numbers (`TStreamerBasicType`).
    Basic,
    /// A pointer to an array of numbers sized by another member (`TStreamerBasicPointer`); the
    /// count member's name.
    BasicPointer(String),
    /// A `TString` (`TStreamerString`).
    TString,
    /// A `std::string` (`TStreamerSTLstring`).
    StdString,
    /// An embedded object (`TStreamerObject`, `TStreamerObjectAny`).
    Object,
    /// A pointer to an object (`TStreamerObjectPointer`, `TStreamerObjectAnyPointer`).
    Pointer,
    /// An STL container (`TStreamerSTL`): its `fSTLtype` (1 vector, 4 map, …).
    Stl(i32),
    /// Anything else (`TStreamerLoop`, `TStreamerArtificial`, …): the class name.
    Other(String),
}

/// One member of a class.
#[derive(Debug, Clone)]
pub struct Element {
    /// Member name (`fSignalID`; for a base, the base class name).
    pub name: String,
    /// Its C++ type name (`int`, `vector<short>`, `TVector3`, `BASE`).
    pub type_name: String,
    /// ROOT's type code (`fType`: 3 int, 8 double, 61 object, 500 STL, …).
    pub code: i32,
    /// Elements of a fixed array (0 when not an array).
    pub array_length: usize,
    /// The kind of element.
    pub kind: ElementKind,
}

/// One class version's layout.
#[derive(Debug, Clone)]
pub struct ClassInfo {
    /// Class name.
    pub name: String,
    /// Class version.
    pub version: i32,
    /// Members in streaming order.
    pub elements: Vec<Element>,
}

/// Every class description of a file.
#[derive(Debug, Default, Clone)]
pub struct StreamerInfos {
    by_name: HashMap<String, Vec<ClassInfo>>,
}

impl StreamerInfos {
    /// The description of `class` at `version`, or its only description when the version is
    /// not listed (ROOT writes the versions the file uses).
    pub fn get(&self, class: &str, version: i16) -> Option<&ClassInfo> {
        let all = self.by_name.get(class)?;
        all.iter()
            .find(|c| c.version == version as i32)
            .or_else(|| (all.len() == 1).then(|| &all[0]))
    }

    /// True when the file describes `class`.
    pub fn has(&self, class: &str) -> bool {
        self.by_name.contains_key(class)
    }

    /// Number of class descriptions.
    pub fn len(&self) -> usize {
        self.by_name.values().map(Vec::len).sum()
    }

    /// True when the file holds none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Reads the `StreamerInfo` record's `TList` of `TStreamerInfo` (other entries, such as the
    /// schema-evolution rules, are skipped by their byte counts).
    pub fn parse(payload: &[u8], key_len: usize) -> R<Self> {
        let mut c = Cursor::new(payload, key_len);
        let mut classes = HashMap::new();
        let h = c.header()?;
        let end = h.end.ok_or("the StreamerInfo list has no byte count")?;
        skip_tobject(&mut c)?;
        c.tstring()?;
        let n = c.count(1, "StreamerInfo list entries")?;
        let mut infos = StreamerInfos::default();
        for _ in 0..n {
            let (class, obj_end) = object_any_class(&mut c, &mut classes)?;
            let Some(obj_end) = obj_end else {
                // null or a reference: nothing to read
                let nch = c.u8()? as usize;
                c.bytes(nch)?;
                continue;
            };
            if class == "TStreamerInfo" {
                let info = parse_info(&mut c, &mut classes)?;
                infos
                    .by_name
                    .entry(info.name.clone())
                    .or_default()
                    .push(info);
            }
            c.skip_to(obj_end, &format!("StreamerInfo entry of class {class}"))?;
            // the entry's option string
            let nch = c.u8()? as usize;
            c.bytes(nch)?;
        }
        c.skip_to(end, "the StreamerInfo list")?;
        Ok(infos)
    }
}

/// Skips a `TObject` (version, unique id, bits, and the process id of a referenced object).
pub fn skip_tobject(c: &mut Cursor) -> R<(u32, u32)> {
    let h = c.header()?;
    let id = c.u32()?;
    let bits = c.u32()?;
    if bits & (1 << 4) != 0 {
        c.u16()?;
    }
    c.finish(h, "TObject")?;
    Ok((id, bits))
}

/// Reads the class tag in front of an object written through a pointer: returns the class and,
/// for an object that follows, where it ends; `(class, None)` for a null pointer or a reference
/// to an object read before. New classes are remembered by their map offset.
pub fn object_any_class(
    c: &mut Cursor,
    classes: &mut HashMap<usize, String>,
) -> R<(String, Option<usize>)> {
    const NEW_CLASS: u32 = 0xffff_ffff;
    const CLASS_MASK: u32 = 0x8000_0000;
    const MAP_OFFSET: usize = 2;
    let mut start = c.map_pos();
    let at = c.pos();
    let first = c.u32()?;
    let (tag, end) = if first & super::cursor::BYTE_COUNT != 0 && first != NEW_CLASS {
        let n = (first & !super::cursor::BYTE_COUNT) as usize;
        if n > c.remaining() + 4 || n < 4 {
            return Err(format!(
                "at byte {at}: object byte count {n} does not fit the {} bytes left",
                c.remaining()
            ));
        }
        let end = c.pos() + n;
        // with a byte count, ROOT maps the class at the tag's offset
        start = c.map_pos();
        (c.u32()?, Some(end))
    } else {
        (first, None)
    };
    if tag == 0 {
        return Ok((String::new(), None));
    }
    if tag == NEW_CLASS {
        let name = c.cstring()?;
        classes.insert(start + MAP_OFFSET, name.clone());
        return Ok((name, end));
    }
    if tag & CLASS_MASK != 0 {
        let offset = (tag & !CLASS_MASK) as usize;
        let name = classes.get(&offset).cloned().ok_or_else(|| {
            format!(
                "at byte {at}: reference to class at offset {offset}, which was not read before"
            )
        })?;
        return Ok((name, end));
    }
    // a reference to an object already read
    Ok(("(reference)".to_string(), None))
}

fn parse_info(c: &mut Cursor, classes: &mut HashMap<usize, String>) -> R<ClassInfo> {
    let h = c.header()?;
    let (name, _) = named(c)?;
    c.u32()?; // fCheckSum
    let version = c.i32()?;
    let (arr_class, arr_end) = object_any_class(c, classes)?;
    let mut elements = Vec::new();
    if let Some(arr_end) = arr_end {
        if arr_class != "TObjArray" {
            return Err(format!(
                "TStreamerInfo of {name}: elements in a {arr_class}, expected a TObjArray"
            ));
        }
        let ah = c.header()?;
        skip_tobject(c)?;
        if ah.version > 1 {
            c.tstring()?;
        }
        let n = c.count(1, "streamer elements")?;
        c.i32()?; // fLowerBound
        for _ in 0..n {
            let (class, end) = object_any_class(c, classes)?;
            let Some(end) = end else { continue };
            elements.push(parse_element(c, &class, &name)?);
            c.skip_to(end, &format!("streamer element of {name}"))?;
        }
        c.skip_to(arr_end, &format!("TStreamerInfo of {name}"))?;
    }
    c.finish(h, &format!("TStreamerInfo of {name}"))?;
    Ok(ClassInfo {
        name,
        version,
        elements,
    })
}

/// A `TNamed`: its name and title.
pub fn named(c: &mut Cursor) -> R<(String, String)> {
    let h = c.header()?;
    skip_tobject(c)?;
    let name = c.tstring()?;
    let title = c.tstring()?;
    c.finish(h, "TNamed")?;
    Ok((name, title))
}

fn parse_element(c: &mut Cursor, class: &str, owner: &str) -> R<Element> {
    let outer = c.header()?;
    // TStreamerSTLstring wraps a TStreamerSTL
    let stl_string = class == "TStreamerSTLstring";
    let inner = if stl_string { Some(c.header()?) } else { None };
    // the TStreamerElement part
    let eh = c.header()?;
    let (name, _title) = named(c)?;
    let code = c.i32()?;
    c.i32()?; // fSize
    let array_length = c.i32()?.max(0) as usize;
    c.i32()?; // fArrayDim
    if eh.version == 1 {
        let n = c.count(4, "fMaxIndex")?;
        c.bytes(4 * n)?;
    } else {
        c.bytes(20)?;
    }
    let type_name = c.tstring()?;
    let what = format!("element {owner}::{name}");
    c.finish(eh, &what)?;
    let kind = match class {
        "TStreamerBase" => {
            if outer.version > 2 {
                c.i32()?; // fBaseVersion
            }
            ElementKind::Base
        }
        "TStreamerBasicType" => ElementKind::Basic,
        "TStreamerBasicPointer" | "TStreamerLoop" => {
            c.i32()?; // fCountVersion
            let count = c.tstring()?;
            c.tstring()?; // fCountClass
            if class == "TStreamerLoop" {
                ElementKind::Other(class.to_string())
            } else {
                ElementKind::BasicPointer(count)
            }
        }
        "TStreamerString" => ElementKind::TString,
        "TStreamerObject" | "TStreamerObjectAny" => ElementKind::Object,
        "TStreamerObjectPointer" | "TStreamerObjectAnyPointer" => ElementKind::Pointer,
        "TStreamerSTL" | "TStreamerSTLstring" => {
            let stl = c.i32()?;
            c.i32()?; // fCtype
            if stl_string || stl == 365 {
                ElementKind::StdString
            } else {
                ElementKind::Stl(stl)
            }
        }
        other => ElementKind::Other(other.to_string()),
    };
    if let Some(h) = inner {
        c.finish(h, &what)?;
    }
    c.finish(outer, &what)?;
    Ok(Element {
        name,
        type_name,
        code,
        array_length,
        kind,
    })
}
