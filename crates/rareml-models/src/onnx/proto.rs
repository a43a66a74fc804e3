//! The protobuf wire format of the ONNX messages the exporter writes (`onnx.proto`, IR version 8),
//! encoded by hand: varints, length-delimited fields and fixed 32-bit floats are all it needs.
//! Field numbers are `onnx.proto`'s; repeated scalars are written unpacked (proto2's default,
//! which every protobuf parser reads).

/// A protobuf message being written.
#[derive(Debug, Default, Clone)]
pub(crate) struct Message(Vec<u8>);

/// `TensorProto.DataType.FLOAT`.
pub(crate) const FLOAT: i64 = 1;
/// `TensorProto.DataType.INT64`.
pub(crate) const INT64: i64 = 7;

impl Message {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(((field as u64) << 3) | wire as u64);
    }

    /// An `int64`/`int32`/enum field (two's complement for negative values, as protobuf does).
    pub(crate) fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }

    /// A `float` field.
    pub(crate) fn float(&mut self, field: u32, v: f32) -> &mut Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A `bytes` field.
    pub(crate) fn bytes(&mut self, field: u32, v: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    /// A `string` field.
    pub(crate) fn string(&mut self, field: u32, v: &str) -> &mut Self {
        self.bytes(field, v.as_bytes())
    }

    /// An embedded message field.
    pub(crate) fn message(&mut self, field: u32, m: &Message) -> &mut Self {
        self.bytes(field, &m.0)
    }

    /// The encoded bytes.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// `TensorProto` of f32 values (`raw_data`, little-endian) with its name and dims.
pub(crate) fn tensor_f32(name: &str, dims: &[usize], data: &[f32]) -> Message {
    let mut t = Message::default();
    for &d in dims {
        t.int(1, d as i64);
    }
    t.int(2, FLOAT).string(8, name);
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.bytes(9, &raw);
    t
}

/// A 1-D `TensorProto` of int64 values.
pub(crate) fn tensor_i64(name: &str, data: &[i64]) -> Message {
    let mut t = Message::default();
    t.int(1, data.len() as i64).int(2, INT64).string(8, name);
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.bytes(9, &raw);
    t
}

/// A node attribute.
#[derive(Debug, Clone)]
pub(crate) enum Attr {
    /// `INT`.
    Int(&'static str, i64),
    /// `INTS`.
    Ints(&'static str, Vec<i64>),
    /// `FLOAT`.
    Float(&'static str, f32),
}

impl Attr {
    fn encode(&self) -> Message {
        let mut a = Message::default();
        match self {
            Attr::Float(name, v) => {
                a.string(1, name).float(2, *v).int(20, 1);
            }
            Attr::Int(name, v) => {
                a.string(1, name).int(3, *v).int(20, 2);
            }
            Attr::Ints(name, vs) => {
                a.string(1, name);
                for &v in vs {
                    a.int(8, v);
                }
                a.int(20, 7);
            }
        }
        a
    }
}

/// `NodeProto`.
pub(crate) fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: &[Attr],
) -> Message {
    let mut n = Message::default();
    for i in inputs {
        n.string(1, i);
    }
    for o in outputs {
        n.string(2, o);
    }
    n.string(3, name).string(4, op);
    for a in attrs {
        n.message(5, &a.encode());
    }
    n
}

/// One axis of a declared shape: a size or a named (dynamic) dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A dimension named in the file (`dim_param`), e.g. the batch `N`.
    Named(String),
}

/// `ValueInfoProto` of an f32 tensor of shape `dims`.
pub(crate) fn value_info(name: &str, dims: &[Dim]) -> Message {
    let mut shape = Message::default();
    for d in dims {
        let mut dim = Message::default();
        match d {
            Dim::Fixed(v) => dim.int(1, *v as i64),
            Dim::Named(s) => dim.string(2, s),
        };
        shape.message(1, &dim);
    }
    let mut tensor = Message::default();
    tensor.int(1, FLOAT).message(2, &shape);
    let mut ty = Message::default();
    ty.message(1, &tensor);
    let mut v = Message::default();
    v.string(1, name).message(2, &ty);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_follow_the_protobuf_encoding() {
        let mut m = Message::default();
        m.int(1, 150);
        assert_eq!(m.clone().into_bytes(), [0x08, 0x96, 0x01]);
        let mut m = Message::default();
        m.int(2, -1);
        // A negative int64 takes ten bytes.
        let b = m.into_bytes();
        assert_eq!(b.len(), 11);
        assert_eq!(b[0], 0x10);
        assert_eq!(*b.last().unwrap(), 0x01);
    }

    #[test]
    fn strings_and_floats_are_length_delimited_and_fixed32() {
        let mut m = Message::default();
        m.string(2, "testing");
        assert_eq!(
            m.into_bytes(),
            [0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']
        );
        let mut m = Message::default();
        m.float(2, 1.0);
        assert_eq!(m.into_bytes(), [0x15, 0x00, 0x00, 0x80, 0x3f]);
    }
}
