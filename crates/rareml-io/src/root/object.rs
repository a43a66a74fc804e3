//! Objects decoded by the file's own class descriptions into a tree of [`Value`]s: numbers,
//! strings, lists and objects with named members. `TObject`, `TNamed`, `TObjArray`, `TList` and
//! the `TArray`s have hand-written streamers in ROOT and are decoded here by hand; every other
//! class follows its `TStreamerInfo`, member-wise streamed collections included. A class the file
//! does not describe, or a container this decoder does not know, is skipped by its byte count and
//! left as [`Value::Skipped`] saying why.

use super::cursor::{Cursor, Header, R};
use super::streamer::{object_any_class, ClassInfo, Element, ElementKind, StreamerInfos};
use std::collections::HashMap;

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `bool`.
    Bool(bool),
    /// Any signed or unsigned integer.
    Int(i64),
    /// `float`, `double`, `Double32_t`.
    Float(f64),
    /// `TString`, `std::string`, `char*`.
    Str(String),
    /// Arrays, STL sequences, `TObjArray`, `TList`.
    List(Vec<Value>),
    /// An object: its class and its members (base classes' members first, in order).
    Object(Object),
    /// A null pointer, or a reference to an object read before.
    Null,
    /// Not decoded (skipped by its byte count): why.
    Skipped(String),
}

/// A decoded object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Class name.
    pub class: String,
    /// Members in streaming order, the bases' flattened in front.
    pub members: Vec<(String, Value)>,
}

impl Object {
    /// The member `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl Value {
    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }
    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The list, if this is one.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }
}

/// Nesting depth beyond which decoding stops (damaged data must not recurse without bound).
const MAX_DEPTH: usize = 64;

/// Decodes objects of one buffer (one key's payload): the class tags it has read.
pub struct Decoder<'s> {
    infos: &'s StreamerInfos,
    classes: HashMap<usize, String>,
    depth: usize,
}

impl<'s> Decoder<'s> {
    /// A decoder for one buffer.
    pub fn new(infos: &'s StreamerInfos) -> Self {
        Self {
            infos,
            classes: HashMap::new(),
            depth: 0,
        }
    }

    /// An object written through a pointer: class tag, then the object.
    pub fn object_any(&mut self, c: &mut Cursor) -> R<Value> {
        let (class, end) = object_any_class(c, &mut self.classes)?;
        let Some(end) = end else {
            return Ok(Value::Null);
        };
        let v = self.class(c, &class)?;
        c.skip_to(end, &class)?;
        Ok(v)
    }

    /// An object of `class` streamed in place.
    pub fn class(&mut self, c: &mut Cursor, class: &str) -> R<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "objects nested deeper than {MAX_DEPTH} at byte {}",
                c.pos()
            ));
        }
        let v = self.class_inner(c, class);
        self.depth -= 1;
        v.map_err(|e| {
            if e.contains(" in ") {
                e
            } else {
                format!("{e} in {class}")
            }
        })
    }

    fn class_inner(&mut self, c: &mut Cursor, class: &str) -> R<Value> {
        match class {
            "TObject" => {
                let (id, bits) = super::streamer::skip_tobject(c)?;
                Ok(obj(
                    "TObject",
                    vec![
                        ("fUniqueID", Value::Int(id as i64)),
                        ("fBits", Value::Int(bits as i64)),
                    ],
                ))
            }
            "TNamed" => {
                let (name, title) = super::streamer::named(c)?;
                Ok(obj(
                    "TNamed",
                    vec![("fName", Value::Str(name)), ("fTitle", Value::Str(title))],
                ))
            }
            "TObjArray" => {
                let h = c.header()?;
                super::streamer::skip_tobject(c)?;
                if h.version > 1 {
                    c.tstring()?; // fName
                }
                let n = c.count(4, "TObjArray entries")?;
                c.i32()?; // fLowerBound
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.object_any(c)?);
                }
                c.finish(h, class)?;
                Ok(Value::List(items))
            }
            "TList" | "THashList" => {
                let h = c.header()?;
                super::streamer::skip_tobject(c)?;
                c.tstring()?;
                let n = c.count(4, "TList entries")?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.object_any(c)?);
                    let nch = c.u8()? as usize;
                    c.bytes(nch)?;
                }
                c.finish(h, class)?;
                Ok(Value::List(items))
            }
            "TArrayD" | "TArrayF" | "TArrayI" | "TArrayS" | "TArrayC" | "TArrayL" | "TArrayL64" => {
                let (code, size) = match class {
                    "TArrayD" => (8, 8),
                    "TArrayF" => (5, 4),
                    "TArrayI" => (3, 4),
                    "TArrayS" => (2, 2),
                    "TArrayC" => (1, 1),
                    _ => (16, 8),
                };
                let n = c.count(size, class)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(basic(c, code)?);
                }
                Ok(Value::List(items))
            }
            _ => self.described(c, class),
        }
    }

    /// An object its `TStreamerInfo` describes (header, then its members).
    fn described(&mut self, c: &mut Cursor, class: &str) -> R<Value> {
        let at = c.pos();
        let h = c.header()?;
        let Some(info) = self.infos.get(class, h.version) else {
            return match h.end {
                Some(e) => {
                    c.skip_to(e, class)?;
                    Ok(Value::Skipped(format!("class {class} v{} is not described in the file", h.version)))
                }
                None => Err(format!(
                    "at byte {at}: class {class} v{} is not described in the file and has no byte count to skip it",
                    h.version
                )),
            };
        };
        let mut members = Vec::new();
        self.members(c, info, &mut members)?;
        c.finish(h, class)?;
        Ok(Value::Object(Object {
            class: class.to_string(),
            members,
        }))
    }

    fn members(
        &mut self,
        c: &mut Cursor,
        info: &ClassInfo,
        out: &mut Vec<(String, Value)>,
    ) -> R<()> {
        for e in &info.elements {
            if e.kind == ElementKind::Base {
                match self.class(c, &e.name)? {
                    Value::Object(o) => out.extend(o.members),
                    other => out.push((e.name.clone(), other)),
                }
                continue;
            }
            let v = self.member(c, e, out)?;
            out.push((e.name.clone(), v));
        }
        Ok(())
    }

    /// One member; `before` holds the members read so far (a pointer array's count is one).
    fn member(&mut self, c: &mut Cursor, e: &Element, before: &[(String, Value)]) -> R<Value> {
        let context = |err: String| format!("{err} (member {})", e.name);
        match &e.kind {
            ElementKind::Basic => {
                let code = if (21..40).contains(&e.code) {
                    e.code - 20
                } else {
                    e.code
                };
                if e.array_length > 0 {
                    let mut v = Vec::with_capacity(e.array_length.min(c.remaining()));
                    for _ in 0..e.array_length {
                        v.push(basic(c, code).map_err(context)?);
                    }
                    Ok(Value::List(v))
                } else {
                    basic(c, code).map_err(context)
                }
            }
            ElementKind::BasicPointer(count) => {
                let flag = c.u8().map_err(context)?;
                if flag == 0 {
                    return Ok(Value::List(Vec::new()));
                }
                let n = before
                    .iter()
                    .rev()
                    .find(|(n, _)| n == count)
                    .and_then(|(_, v)| v.as_i64())
                    .ok_or_else(|| {
                        context(format!("its count member {count} was not read before it"))
                    })?;
                let code = e.code - 40;
                let at = c.pos();
                let n = c.check_count(n, basic_size(code), &e.name, at)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(basic(c, code).map_err(context)?);
                }
                Ok(Value::List(v))
            }
            ElementKind::TString => Ok(Value::Str(c.tstring().map_err(context)?)),
            ElementKind::StdString => {
                let h = c.header().map_err(context)?;
                let s = c.tstring().map_err(context)?;
                c.finish(h, &e.name)?;
                Ok(Value::Str(s))
            }
            ElementKind::Object => self.class(c, &e.type_name).map_err(context),
            ElementKind::Pointer => self.object_any(c).map_err(context),
            ElementKind::Stl(_) => self.stl(c, &e.type_name).map_err(context),
            ElementKind::Other(kind) => Err(context(format!("{kind} members are not decoded"))),
            ElementKind::Base => Err(context("a base class read as a member".into())),
        }
    }

    /// An STL container member: header, then its elements (member-wise when the header says so).
    fn stl(&mut self, c: &mut Cursor, type_name: &str) -> R<Value> {
        let mut v = self.stl_of(c, type_name, 1)?;
        Ok(v.pop().unwrap_or(Value::Null))
    }

    /// The container member `type_name` of `count` objects streamed member-wise: one header
    /// (and, for member-wise elements, one element class version) for all of them, then each
    /// object's size and elements. `count` = 1 for a container streamed on its own.
    fn stl_of(&mut self, c: &mut Cursor, type_name: &str, count: usize) -> R<Vec<Value>> {
        let h = c.header()?;
        let t = type_name.trim().replace(' ', "");
        let inner = t
            .strip_prefix("vector<")
            .or_else(|| t.strip_prefix("list<"))
            .or_else(|| t.strip_prefix("deque<"))
            .or_else(|| t.strip_prefix("set<"))
            .and_then(|s| s.strip_suffix('>'));
        let mut out = Vec::with_capacity(count.min(c.remaining()));
        match inner {
            Some(elem) if h.memberwise => {
                let version = c.i16()?;
                let Some(info) = self.infos.get(elem, version) else {
                    let why = format!(
                        "member-wise vector<{elem}>: class {elem} v{version} not described"
                    );
                    return Ok(vec![skip(c, h, &why)?; count]);
                };
                for _ in 0..count {
                    let n = c.count(1, &format!("vector<{elem}> size"))?;
                    out.push(self.memberwise(c, info, n)?);
                }
            }
            Some(elem) => {
                for _ in 0..count {
                    match self.sequence(c, elem)? {
                        Some(v) => out.push(v),
                        None => {
                            let why = format!("vector<{elem}> is not decoded");
                            return Ok(vec![skip(c, h, &why)?; count]);
                        }
                    }
                }
            }
            None if t == "string" => {
                for _ in 0..count {
                    out.push(Value::Str(c.tstring()?));
                }
            }
            None => {
                return Ok(vec![
                    skip(c, h, &format!("{type_name} is not decoded"))?;
                    count
                ])
            }
        }
        c.finish(h, type_name)?;
        Ok(out)
    }

    /// One object-wise sequence's size and elements; `None` for element types not decoded.
    fn sequence(&mut self, c: &mut Cursor, elem: &str) -> R<Option<Value>> {
        if let Some(code) = basic_code(elem) {
            let n = c.count(basic_size(code), &format!("vector<{elem}> size"))?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(basic(c, code)?);
            }
            return Ok(Some(Value::List(v)));
        }
        let n = c.count(1, &format!("vector<{elem}> size"))?;
        let mut v = Vec::with_capacity(n);
        match elem {
            "TString" | "string" | "std::string" => {
                for _ in 0..n {
                    v.push(Value::Str(c.tstring()?));
                }
            }
            _ if elem.ends_with('*') => {
                for _ in 0..n {
                    v.push(self.object_any(c)?);
                }
            }
            _ if self.infos.has(elem) || is_handwritten(elem) => {
                for _ in 0..n {
                    v.push(self.class(c, elem)?);
                }
            }
            _ => return Ok(None),
        }
        Ok(Some(Value::List(v)))
    }

    /// `n` objects of `info`'s class streamed member by member: every object's first member,
    /// then every object's second, …
    fn memberwise(&mut self, c: &mut Cursor, info: &ClassInfo, n: usize) -> R<Value> {
        let mut objects: Vec<Vec<(String, Value)>> = vec![Vec::new(); n];
        for e in &info.elements {
            if let ElementKind::Stl(_) = e.kind {
                let values = self
                    .stl_of(c, &e.type_name, n)
                    .map_err(|err| format!("{err} (member {})", e.name))?;
                for (o, v) in objects.iter_mut().zip(values) {
                    o.push((e.name.clone(), v));
                }
                continue;
            }
            for o in objects.iter_mut() {
                if e.kind == ElementKind::Base {
                    match self.class(c, &e.name)? {
                        Value::Object(b) => o.extend(b.members),
                        other => o.push((e.name.clone(), other)),
                    }
                } else {
                    let v = self.member(c, e, o)?;
                    o.push((e.name.clone(), v));
                }
            }
        }
        Ok(Value::List(
            objects
                .into_iter()
                .map(|members| {
                    Value::Object(Object {
                        class: info.name.clone(),
                        members,
                    })
                })
                .collect(),
        ))
    }
}

fn is_handwritten(class: &str) -> bool {
    matches!(
        class,
        "TObject" | "TNamed" | "TObjArray" | "TList" | "THashList"
    )
}

fn obj(class: &str, members: Vec<(&str, Value)>) -> Value {
    Value::Object(Object {
        class: class.to_string(),
        members: members
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect(),
    })
}

fn skip(c: &mut Cursor, h: Header, why: &str) -> R<Value> {
    match h.end {
        Some(e) => {
            c.skip_to(e, why)?;
            Ok(Value::Skipped(why.to_string()))
        }
        None => Err(format!("{why}, and it has no byte count to skip it")),
    }
}

/// ROOT's type code of a C++ basic type name.
fn basic_code(t: &str) -> Option<i32> {
    Some(match t {
        "char" | "Char_t" => 1,
        "short" | "Short_t" => 2,
        "int" | "Int_t" => 3,
        "long" | "Long_t" => 4,
        "float" | "Float_t" => 5,
        "double" | "Double_t" => 8,
        "Double32_t" => 9,
        "unsignedchar" | "UChar_t" => 11,
        "unsignedshort" | "UShort_t" => 12,
        "unsignedint" | "UInt_t" => 13,
        "unsignedlong" | "ULong_t" => 14,
        "longlong" | "Long64_t" => 16,
        "unsignedlonglong" | "ULong64_t" => 17,
        "bool" | "Bool_t" => 18,
        _ => return None,
    })
}

/// Bytes on disk of a basic type code.
fn basic_size(code: i32) -> usize {
    match code {
        1 | 11 | 18 => 1,
        2 | 12 => 2,
        3 | 5 | 6 | 9 | 13 | 15 | 19 => 4,
        _ => 8,
    }
}

/// One number of type `code` (ROOT's `EDataType`).
fn basic(c: &mut Cursor, code: i32) -> R<Value> {
    Ok(match code {
        1 => Value::Int(c.i8()? as i64),
        2 => Value::Int(c.i16()? as i64),
        3 | 6 => Value::Int(c.i32()? as i64),
        4 | 16 => Value::Int(c.i64()?),
        5 | 9 | 19 => Value::Float(c.f32()? as f64),
        8 => Value::Float(c.f64()?),
        11 => Value::Int(c.u8()? as i64),
        12 => Value::Int(c.u16()? as i64),
        13 | 15 => Value::Int(c.u32()? as i64),
        14 | 17 => Value::Int(c.u64()? as i64),
        18 => Value::Bool(c.u8()? != 0),
        other => return Err(format!("basic type code {other} is not decoded")),
    })
}
