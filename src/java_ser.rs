//! Java serialization, byte-exact with `ObjectOutputStream`: the stream constants and modified
//! UTF-8 shared by the Kafka Connect offsets file (`offsets::file`), the v1 column hash
//! (`columns`, a salted digest of a serialized `String`), and, the main part here, the
//! incremental-snapshot chunk keys.
//!
//! Debezium keeps the position of a running incremental snapshot in its Kafka Connect offsets
//! (`incremental_snapshot_primary_key`, `incremental_snapshot_maximum_key`, ...) as the lower-case
//! hex of the Java serialization of an `Object[]` holding one element per primary-key column, as
//! the JDBC driver returned it (`java.lang.Integer`, `java.lang.Long`, `java.lang.String`, ...).
//! "No key" is a serialized Java `null`, `aced000570`. To let Debezium resume from our offsets and
//! us from Debezium's, this module writes exactly the bytes `ObjectOutputStream.writeObject`
//! writes, and reads them back.
//!
//! # Why hand-written
//!
//! No maintained Rust crate writes Java serialization of boxed primitives and `Object[]`
//! byte-exactly. On crates.io, `jaded` and `java-serialization` only parse (deserialize) streams;
//! `jvm-serializable` is a 0.0.x derive-based writer for user structs that needs nightly features
//! and has no boxed primitives, `Object[]` or back-references. The subset Debezium produces for
//! chunk keys is small, so it is implemented here against the Java Object Serialization Stream
//! Protocol and checked against bytes written by a real JVM (see the tests).
//!
//! # Supported subset
//!
//! * A top-level `null` (`TC_NULL`), or one `Object[]` (`TC_ARRAY` of class `[Ljava.lang.Object;`)
//!   whose elements are `null`, `java.lang.Byte`, `java.lang.Short`, `java.lang.Integer`,
//!   `java.lang.Long` (each a `java.lang.Number` with a single primitive `value` field) or
//!   `java.lang.String` (`TC_STRING`, or `TC_LONGSTRING` past 65535 bytes of modified UTF-8).
//! * Handles: every class descriptor, string and object (the array included) gets the next wire
//!   handle from `0x7e0000` in the order Java assigns them (a class descriptor before its fields
//!   and super class, an object after its class descriptor). Repeated classes are written and read
//!   as `TC_REFERENCE`s to the earlier descriptor.
//! * Object identity: Java writes a second occurrence of the *same* object as a `TC_REFERENCE`.
//!   JDBC drivers box numbers with `valueOf`, which returns shared cached instances for every
//!   `Byte` and for `Short`/`Integer`/`Long` in `-128..=127` (the JVM defaults), so the encoder
//!   writes a repeated value of the same class in that range as a reference to the first object,
//!   exactly as Java does for `new Object[]{7, 7}`. Strings from JDBC are distinct instances and
//!   are always written out in full. The decoder follows references to any earlier string or
//!   boxed number, whichever way they were written.
//!
//! # Invariants
//!
//! * Decoding never panics, whatever the input: all reads are bounds-checked, lengths from the
//!   stream are never trusted for allocation, and anything outside the subset above (other
//!   classes, unexpected serialVersionUIDs or field layouts, custom class data, nested arrays,
//!   proxies, enums, block data, `TC_RESET`, trailing bytes, bad handles, malformed modified
//!   UTF-8 or unpaired surrogates) is a [`JavaSerError`].
//! * `decode_key(&encode_key(parts)) == Ok(Some(parts))` for every key.

use std::collections::HashMap;

/// One element of a key array, as JDBC gives it to Debezium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    /// Java `null`.
    Null,
    /// `java.lang.Byte`.
    Byte(i8),
    /// `java.lang.Short`.
    Short(i16),
    /// `java.lang.Integer`.
    Int(i32),
    /// `java.lang.Long`.
    Long(i64),
    /// `java.lang.String`.
    Str(String),
}

/// Why a serialized key could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JavaSerError {
    /// The stream ends in the middle of an item.
    #[error("truncated Java serialization stream")]
    Truncated,
    /// The stream does not start with `ac ed 00 05`.
    #[error("not a Java serialization stream (bad magic or version)")]
    BadMagic,
    /// Bytes follow the serialized object.
    #[error("{0} trailing byte(s) after the serialized object")]
    TrailingBytes(usize),
    /// A `TC_REFERENCE` names no earlier handle, or one of the wrong kind.
    #[error("bad back-reference to handle {0:#x}")]
    BadHandle(u32),
    /// A string is not valid modified UTF-8, or holds an unpaired surrogate.
    #[error("invalid modified UTF-8 string")]
    BadUtf,
    /// The hex text is not an even number of hex digits.
    #[error("invalid hex: {0}")]
    BadHex(String),
    /// Valid Java serialization outside the supported subset.
    #[error("unsupported Java serialization content: {0}")]
    Unsupported(String),
}

const STREAM_MAGIC: [u8; 2] = [0xac, 0xed];
const STREAM_VERSION: [u8; 2] = [0x00, 0x05];

pub(crate) const TC_NULL: u8 = 0x70;
pub(crate) const TC_REFERENCE: u8 = 0x71;
pub(crate) const TC_CLASSDESC: u8 = 0x72;
pub(crate) const TC_OBJECT: u8 = 0x73;
pub(crate) const TC_STRING: u8 = 0x74;
pub(crate) const TC_ARRAY: u8 = 0x75;
pub(crate) const TC_BLOCKDATA: u8 = 0x77;
pub(crate) const TC_ENDBLOCKDATA: u8 = 0x78;
pub(crate) const TC_BLOCKDATALONG: u8 = 0x7a;
pub(crate) const TC_LONGSTRING: u8 = 0x7c;

pub(crate) const BASE_WIRE_HANDLE: u32 = 0x7e_0000;
pub(crate) const SC_WRITE_METHOD: u8 = 0x01;
pub(crate) const SC_SERIALIZABLE: u8 = 0x02;

const OBJECT_ARRAY_CLASS: &str = "[Ljava.lang.Object;";
const OBJECT_ARRAY_SUID: u64 = 0x90ce_589f_1073_296c;
const NUMBER_CLASS: &str = "java.lang.Number";
const NUMBER_SUID: u64 = 0x86ac_951d_0b94_e08b;
/// Name of the single field of the boxed number classes.
const VALUE_FIELD: &str = "value";

/// The boxed number classes, with their wire description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Boxed {
    Byte,
    Short,
    Int,
    Long,
}

impl Boxed {
    const ALL: [Boxed; 4] = [Boxed::Byte, Boxed::Short, Boxed::Int, Boxed::Long];

    fn class_name(self) -> &'static str {
        match self {
            Boxed::Byte => "java.lang.Byte",
            Boxed::Short => "java.lang.Short",
            Boxed::Int => "java.lang.Integer",
            Boxed::Long => "java.lang.Long",
        }
    }

    fn suid(self) -> u64 {
        match self {
            Boxed::Byte => 0x9c4e_6084_ee50_f51c,
            Boxed::Short => 0x684d_3713_3460_da52,
            Boxed::Int => 0x12e2_a0a4_f781_8738,
            Boxed::Long => 0x3b8b_e490_cc8f_23df,
        }
    }

    /// The primitive type code of the `value` field.
    fn type_code(self) -> u8 {
        match self {
            Boxed::Byte => b'B',
            Boxed::Short => b'S',
            Boxed::Int => b'I',
            Boxed::Long => b'J',
        }
    }

    fn index(self) -> usize {
        match self {
            Boxed::Byte => 0,
            Boxed::Short => 1,
            Boxed::Int => 2,
            Boxed::Long => 3,
        }
    }

    fn from_class_name(name: &str) -> Option<Boxed> {
        Boxed::ALL.into_iter().find(|b| b.class_name() == name)
    }
}

/// Whether `Byte/Short/Integer/Long.valueOf` returns a shared cached instance for this value
/// (JVM defaults: all bytes, and `-128..=127` for the others).
fn is_cached_instance(kind: Boxed, value: i64) -> bool {
    kind == Boxed::Byte || (-128..=127).contains(&value)
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Java serialization of `Object[]{parts...}` (java.lang.Byte/Short/Integer/Long/String, null),
/// as `ObjectOutputStream` writes it.
///
/// # Panics
///
/// If `parts` has more than `i32::MAX` elements (more than a Java array can hold).
#[must_use]
pub fn encode_key(parts: &[KeyPart]) -> Vec<u8> {
    let mut enc = Encoder::default();
    enc.out.extend_from_slice(&STREAM_MAGIC);
    enc.out.extend_from_slice(&STREAM_VERSION);
    enc.write_object_array(parts);
    enc.out
}

/// The serialization of a Java null: `[0xac, 0xed, 0x00, 0x05, 0x70]`.
#[must_use]
pub fn encode_null() -> Vec<u8> {
    let mut out = Vec::with_capacity(5);
    out.extend_from_slice(&STREAM_MAGIC);
    out.extend_from_slice(&STREAM_VERSION);
    out.push(TC_NULL);
    out
}

/// Lower-case hex of [`encode_key`].
#[must_use]
pub fn encode_key_hex(parts: &[KeyPart]) -> String {
    to_hex(&encode_key(parts))
}

/// The handle bookkeeping of one `ObjectOutputStream.writeObject` call.
#[derive(Default)]
struct Encoder {
    out: Vec<u8>,
    next_handle: u32,
    number_desc: Option<u32>,
    boxed_desc: [Option<u32>; 4],
    /// Handles of the shared (cached) boxed instances already written.
    cached_objects: HashMap<(Boxed, i64), u32>,
}

impl Encoder {
    fn assign_handle(&mut self) -> u32 {
        let handle = BASE_WIRE_HANDLE + self.next_handle;
        self.next_handle += 1;
        handle
    }

    fn write_reference(&mut self, handle: u32) {
        self.out.push(TC_REFERENCE);
        self.out.extend_from_slice(&handle.to_be_bytes());
    }

    /// Modified UTF-8 with a 2-byte length (`DataOutput.writeUTF`); the caller checked the length.
    fn write_short_utf(&mut self, s: &str) {
        let bytes = modified_utf8(s);
        let len = u16::try_from(bytes.len()).expect("class and field names are short");
        self.out.extend_from_slice(&len.to_be_bytes());
        self.out.extend_from_slice(&bytes);
    }

    /// `TC_CLASSDESC` of a class with flags `SC_SERIALIZABLE` and at most one primitive field,
    /// without class annotations; the super class descriptor is written by the caller.
    fn write_class_desc_head(&mut self, name: &str, suid: u64, field: Option<u8>) {
        self.out.push(TC_CLASSDESC);
        self.assign_handle();
        self.write_short_utf(name);
        self.out.extend_from_slice(&suid.to_be_bytes());
        self.out.push(SC_SERIALIZABLE);
        match field {
            None => self.out.extend_from_slice(&0u16.to_be_bytes()),
            Some(type_code) => {
                self.out.extend_from_slice(&1u16.to_be_bytes());
                self.out.push(type_code);
                self.write_short_utf(VALUE_FIELD);
            }
        }
        self.out.push(TC_ENDBLOCKDATA);
    }

    fn write_object_array(&mut self, parts: &[KeyPart]) {
        self.out.push(TC_ARRAY);
        self.write_class_desc_head(OBJECT_ARRAY_CLASS, OBJECT_ARRAY_SUID, None);
        self.out.push(TC_NULL); // super class of Object[]: none serializable
        self.assign_handle(); // the array itself
        let len = i32::try_from(parts.len()).expect("a Java array holds at most i32::MAX elements");
        self.out.extend_from_slice(&len.to_be_bytes());
        for part in parts {
            self.write_element(part);
        }
    }

    fn write_element(&mut self, part: &KeyPart) {
        match part {
            KeyPart::Null => self.out.push(TC_NULL),
            KeyPart::Str(s) => self.write_string(s),
            KeyPart::Byte(v) => self.write_boxed(Boxed::Byte, i64::from(*v), &v.to_be_bytes()),
            KeyPart::Short(v) => self.write_boxed(Boxed::Short, i64::from(*v), &v.to_be_bytes()),
            KeyPart::Int(v) => self.write_boxed(Boxed::Int, i64::from(*v), &v.to_be_bytes()),
            KeyPart::Long(v) => self.write_boxed(Boxed::Long, *v, &v.to_be_bytes()),
        }
    }

    /// `ObjectOutputStream.writeString`: `TC_STRING` up to 65535 bytes, else `TC_LONGSTRING`.
    fn write_string(&mut self, s: &str) {
        self.assign_handle();
        let bytes = modified_utf8(s);
        match u16::try_from(bytes.len()) {
            Ok(len) => {
                self.out.push(TC_STRING);
                self.out.extend_from_slice(&len.to_be_bytes());
            }
            Err(_) => {
                self.out.push(TC_LONGSTRING);
                self.out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            }
        }
        self.out.extend_from_slice(&bytes);
    }

    /// A boxed number: `value` identifies the instance, `data` is its big-endian primitive value.
    fn write_boxed(&mut self, kind: Boxed, value: i64, data: &[u8]) {
        let cached = is_cached_instance(kind, value);
        if cached {
            if let Some(&handle) = self.cached_objects.get(&(kind, value)) {
                self.write_reference(handle);
                return;
            }
        }
        self.out.push(TC_OBJECT);
        match self.boxed_desc[kind.index()] {
            Some(handle) => self.write_reference(handle),
            None => {
                self.boxed_desc[kind.index()] = Some(BASE_WIRE_HANDLE + self.next_handle);
                self.write_class_desc_head(kind.class_name(), kind.suid(), Some(kind.type_code()));
                match self.number_desc {
                    Some(handle) => self.write_reference(handle),
                    None => {
                        self.number_desc = Some(BASE_WIRE_HANDLE + self.next_handle);
                        self.write_class_desc_head(NUMBER_CLASS, NUMBER_SUID, None);
                        self.out.push(TC_NULL); // Number's super class, Object, is not serializable
                    }
                }
            }
        }
        let handle = self.assign_handle();
        if cached {
            self.cached_objects.insert((kind, value), handle);
        }
        // Number has no serializable fields; only the subclass's `value` follows.
        self.out.extend_from_slice(data);
    }
}

/// A `String` as `ObjectOutputStream.writeObject` writes it, stream header included: `TC_STRING`
/// with a 2-byte length (`TC_LONGSTRING` with 8 bytes past 65535) and modified UTF-8.
pub(crate) fn encode_string(s: &str) -> Vec<u8> {
    let body = modified_utf8(s);
    let mut out = Vec::with_capacity(body.len() + 13);
    out.extend_from_slice(&STREAM_MAGIC);
    out.extend_from_slice(&STREAM_VERSION);
    if body.len() <= 0xffff {
        out.push(TC_STRING);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    } else {
        out.push(TC_LONGSTRING);
        out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    }
    out.extend_from_slice(&body);
    out
}

/// Java's modified UTF-8: UTF-16 code units, U+0000 as `c0 80`, each surrogate as 3 bytes.
pub(crate) fn modified_utf8(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for unit in s.encode_utf16() {
        match unit {
            0x0001..=0x007f => out.push(unit as u8),
            0x0000 | 0x0080..=0x07ff => {
                out.push(0xc0 | (unit >> 6) as u8);
                out.push(0x80 | (unit & 0x3f) as u8);
            }
            _ => {
                out.push(0xe0 | (unit >> 12) as u8);
                out.push(0x80 | ((unit >> 6) & 0x3f) as u8);
                out.push(0x80 | (unit & 0x3f) as u8);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// Read either a serialized null (`Ok(None)`) or an `Object[]` of the supported element classes
/// (`Ok(Some(parts))`).
///
/// # Errors
///
/// Anything but exactly one such serialized value (see [`JavaSerError`]); never panics.
pub fn decode_key(bytes: &[u8]) -> Result<Option<Vec<KeyPart>>, JavaSerError> {
    let mut dec = Decoder { input: bytes, pos: 0, handles: Vec::new() };
    let magic = dec.take(4).map_err(|_| JavaSerError::BadMagic)?;
    if magic[..2] != STREAM_MAGIC || magic[2..] != STREAM_VERSION {
        return Err(JavaSerError::BadMagic);
    }
    let key = match dec.u8()? {
        TC_NULL => None,
        TC_ARRAY => Some(dec.read_object_array()?),
        tc => return Err(unsupported_tc(tc, "top-level object")),
    };
    match bytes.len().saturating_sub(dec.pos) {
        0 => Ok(key),
        n => Err(JavaSerError::TrailingBytes(n)),
    }
}

/// Decode a key from the hex text of its serialization (either case); see [`decode_key`].
///
/// # Errors
///
/// [`JavaSerError::BadHex`] on text that is not an even number of hex digits, else as
/// [`decode_key`].
pub fn decode_key_hex(hex: &str) -> Result<Option<Vec<KeyPart>>, JavaSerError> {
    decode_key(&from_hex(hex)?)
}

/// A field of a class descriptor read from the stream.
#[derive(Debug)]
struct FieldDesc {
    type_code: u8,
    name: String,
}

/// A class descriptor read from the stream.
#[derive(Debug)]
struct ClassDesc {
    name: String,
    suid: u64,
    flags: u8,
    fields: Vec<FieldDesc>,
    /// Handle index of the super class descriptor.
    super_desc: Option<usize>,
}

/// What a wire handle stands for.
#[derive(Debug)]
enum Handle {
    /// A class descriptor still being read (a reference to it is an error, which rules out cycles).
    PendingClassDesc,
    ClassDesc(ClassDesc),
    /// The key array itself (not usable as an element).
    Array,
    /// A string of a field's class name.
    ClassName,
    /// A string or boxed number, usable as an element.
    Value(KeyPart),
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    handles: Vec<Handle>,
}

fn unsupported_tc(tc: u8, what: &str) -> JavaSerError {
    JavaSerError::Unsupported(format!("type code {tc:#04x} as {what}"))
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], JavaSerError> {
        let end = self.pos.checked_add(n).ok_or(JavaSerError::Truncated)?;
        let slice = self.input.get(self.pos..end).ok_or(JavaSerError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], JavaSerError> {
        self.take(N)?.try_into().map_err(|_| JavaSerError::Truncated)
    }

    fn u8(&mut self) -> Result<u8, JavaSerError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, JavaSerError> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, JavaSerError> {
        self.array().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64, JavaSerError> {
        self.array().map(u64::from_be_bytes)
    }

    fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    fn push_handle(&mut self, handle: Handle) -> usize {
        self.handles.push(handle);
        self.handles.len() - 1
    }

    /// Reads a 4-byte handle and returns its index into `handles`.
    fn reference(&mut self) -> Result<usize, JavaSerError> {
        let wire = self.u32()?;
        wire.checked_sub(BASE_WIRE_HANDLE)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < self.handles.len())
            .ok_or(JavaSerError::BadHandle(wire))
    }

    fn utf(&mut self) -> Result<String, JavaSerError> {
        let len = self.u16()?;
        decode_modified_utf8(self.take(usize::from(len))?)
    }

    fn long_utf(&mut self) -> Result<String, JavaSerError> {
        let len = usize::try_from(self.u64()?).map_err(|_| JavaSerError::Truncated)?;
        decode_modified_utf8(self.take(len)?)
    }

    /// A class descriptor, `TC_NULL` (`None`) or a reference to an earlier descriptor; returns
    /// its handle index.
    fn read_class_desc(&mut self) -> Result<Option<usize>, JavaSerError> {
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_REFERENCE => {
                let index = self.reference()?;
                match self.handles.get(index) {
                    Some(Handle::ClassDesc(_)) => Ok(Some(index)),
                    _ => Err(JavaSerError::BadHandle(handle_wire(index))),
                }
            }
            TC_CLASSDESC => self.read_new_class_desc().map(Some),
            tc => Err(unsupported_tc(tc, "class descriptor")),
        }
    }

    /// The body of a `TC_CLASSDESC`, whose handle is assigned before its contents are read.
    fn read_new_class_desc(&mut self) -> Result<usize, JavaSerError> {
        let index = self.push_handle(Handle::PendingClassDesc);
        let name = self.utf()?;
        let suid = self.u64()?;
        let flags = self.u8()?;
        let field_count = self.u16()?;
        let mut fields = Vec::new();
        for _ in 0..field_count {
            let type_code = self.u8()?;
            let name = self.utf()?;
            match type_code {
                b'B' | b'C' | b'D' | b'F' | b'I' | b'J' | b'S' | b'Z' => {}
                b'L' | b'[' => self.read_class_name_string()?,
                tc => return Err(unsupported_tc(tc, "field type")),
            }
            fields.push(FieldDesc { type_code, name });
        }
        let end = self.u8()?;
        if end != TC_ENDBLOCKDATA {
            return Err(unsupported_tc(end, "class annotation"));
        }
        let super_desc = self.read_class_desc()?;
        let desc = ClassDesc { name, suid, flags, fields, super_desc };
        if let Some(slot) = self.handles.get_mut(index) {
            *slot = Handle::ClassDesc(desc);
        }
        Ok(index)
    }

    /// The class name of an object field: a string, or a reference to an earlier one.
    fn read_class_name_string(&mut self) -> Result<(), JavaSerError> {
        match self.u8()? {
            TC_STRING => {
                self.utf()?;
            }
            TC_LONGSTRING => {
                self.long_utf()?;
            }
            TC_REFERENCE => {
                let index = self.reference()?;
                match self.handles.get(index) {
                    Some(Handle::ClassName | Handle::Value(KeyPart::Str(_))) => {}
                    _ => return Err(JavaSerError::BadHandle(handle_wire(index))),
                }
            }
            tc => return Err(unsupported_tc(tc, "field class name")),
        }
        self.push_handle(Handle::ClassName);
        Ok(())
    }

    fn class_desc(&self, index: usize) -> Result<&ClassDesc, JavaSerError> {
        match self.handles.get(index) {
            Some(Handle::ClassDesc(desc)) => Ok(desc),
            _ => Err(JavaSerError::BadHandle(handle_wire(index))),
        }
    }

    /// After `TC_ARRAY`: the class descriptor of `Object[]`, the length and the elements.
    fn read_object_array(&mut self) -> Result<Vec<KeyPart>, JavaSerError> {
        let desc_index = self
            .read_class_desc()?
            .ok_or_else(|| JavaSerError::Unsupported("array without a class descriptor".to_owned()))?;
        let desc = self.class_desc(desc_index)?;
        if desc.name != OBJECT_ARRAY_CLASS {
            return Err(JavaSerError::Unsupported(format!("array class {}", desc.name)));
        }
        check_desc(desc, OBJECT_ARRAY_SUID, &[])?;
        if desc.super_desc.is_some() {
            return Err(JavaSerError::Unsupported("Object[] with a super class".to_owned()));
        }
        let len = self.u32()?;
        let len = usize::try_from(i32::from_be_bytes(len.to_be_bytes()))
            .map_err(|_| JavaSerError::Unsupported(format!("negative array length {len:#x}")))?;
        self.push_handle(Handle::Array);
        // Each element takes at least one byte: never allocate more than the input could hold.
        let mut parts = Vec::with_capacity(len.min(self.remaining()));
        for _ in 0..len {
            parts.push(self.read_element()?);
        }
        Ok(parts)
    }

    fn read_element(&mut self) -> Result<KeyPart, JavaSerError> {
        match self.u8()? {
            TC_NULL => Ok(KeyPart::Null),
            TC_STRING => {
                let s = self.utf()?;
                self.push_handle(Handle::Value(KeyPart::Str(s.clone())));
                Ok(KeyPart::Str(s))
            }
            TC_LONGSTRING => {
                let s = self.long_utf()?;
                self.push_handle(Handle::Value(KeyPart::Str(s.clone())));
                Ok(KeyPart::Str(s))
            }
            TC_REFERENCE => {
                let index = self.reference()?;
                match self.handles.get(index) {
                    Some(Handle::Value(part)) => Ok(part.clone()),
                    _ => Err(JavaSerError::BadHandle(handle_wire(index))),
                }
            }
            TC_OBJECT => self.read_boxed(),
            tc => Err(unsupported_tc(tc, "array element")),
        }
    }

    /// After `TC_OBJECT`: a boxed number (class descriptor, then its `value`).
    fn read_boxed(&mut self) -> Result<KeyPart, JavaSerError> {
        let desc_index = self
            .read_class_desc()?
            .ok_or_else(|| JavaSerError::Unsupported("object without a class descriptor".to_owned()))?;
        let desc = self.class_desc(desc_index)?;
        let kind = Boxed::from_class_name(&desc.name)
            .ok_or_else(|| JavaSerError::Unsupported(format!("element class {}", desc.name)))?;
        check_desc(desc, kind.suid(), &[(kind.type_code(), VALUE_FIELD)])?;
        let number_index = desc
            .super_desc
            .ok_or_else(|| JavaSerError::Unsupported(format!("{} without super class Number", desc.name)))?;
        let number = self.class_desc(number_index)?;
        if number.name != NUMBER_CLASS {
            return Err(JavaSerError::Unsupported(format!("{} with super class {}", kind.class_name(), number.name)));
        }
        check_desc(number, NUMBER_SUID, &[])?;
        if number.super_desc.is_some() {
            return Err(JavaSerError::Unsupported("Number with a super class".to_owned()));
        }
        let part = match kind {
            Boxed::Byte => KeyPart::Byte(i8::from_be_bytes(self.array()?)),
            Boxed::Short => KeyPart::Short(i16::from_be_bytes(self.array()?)),
            Boxed::Int => KeyPart::Int(i32::from_be_bytes(self.array()?)),
            Boxed::Long => KeyPart::Long(i64::from_be_bytes(self.array()?)),
        };
        // Java assigns the object's handle right after its class descriptor; no other handle is
        // assigned while reading the primitive value, so pushing it now numbers it the same.
        self.push_handle(Handle::Value(part.clone()));
        Ok(part)
    }
}

fn handle_wire(index: usize) -> u32 {
    u32::try_from(index).map_or(u32::MAX, |i| BASE_WIRE_HANDLE.saturating_add(i))
}

/// Checks a known class descriptor: serialVersionUID, plain `Serializable` flags and fields.
fn check_desc(desc: &ClassDesc, suid: u64, fields: &[(u8, &str)]) -> Result<(), JavaSerError> {
    if desc.suid != suid {
        return Err(JavaSerError::Unsupported(format!("{} with serialVersionUID {:#018x}", desc.name, desc.suid)));
    }
    if desc.flags != SC_SERIALIZABLE {
        return Err(JavaSerError::Unsupported(format!("{} with class flags {:#04x}", desc.name, desc.flags)));
    }
    let same_fields = desc.fields.len() == fields.len()
        && desc.fields.iter().zip(fields).all(|(f, &(tc, name))| f.type_code == tc && f.name == name);
    if !same_fields {
        return Err(JavaSerError::Unsupported(format!("{} with fields {:?}", desc.name, desc.fields)));
    }
    Ok(())
}

/// `DataInput.readUTF`'s decoding (overlong forms accepted, as Java does), then UTF-16 to `String`.
fn decode_modified_utf8(bytes: &[u8]) -> Result<String, JavaSerError> {
    /// The low 6 bits of a `10xxxxxx` continuation byte.
    fn continuation(iter: &mut impl Iterator<Item = u8>) -> Result<u16, JavaSerError> {
        iter.next().filter(|b| b & 0xc0 == 0x80).map(|b| u16::from(b & 0x3f)).ok_or(JavaSerError::BadUtf)
    }
    let mut units = Vec::with_capacity(bytes.len());
    let mut iter = bytes.iter().copied();
    while let Some(b) = iter.next() {
        let unit = match b >> 4 {
            0x0..=0x7 => u16::from(b),
            0xc | 0xd => (u16::from(b & 0x1f) << 6) | continuation(&mut iter)?,
            0xe => {
                let high = continuation(&mut iter)?;
                let low = continuation(&mut iter)?;
                (u16::from(b & 0x0f) << 12) | (high << 6) | low
            }
            _ => return Err(JavaSerError::BadUtf),
        };
        units.push(unit);
    }
    String::from_utf16(&units).map_err(|_| JavaSerError::BadUtf)
}

// ---------------------------------------------------------------------------------------------
// Hex
// ---------------------------------------------------------------------------------------------

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn from_hex(hex: &str) -> Result<Vec<u8>, JavaSerError> {
    let digits = hex.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(JavaSerError::BadHex("odd number of digits".to_owned()));
    }
    let nibble = |d: u8| -> Result<u8, JavaSerError> {
        match d {
            b'0'..=b'9' => Ok(d - b'0'),
            b'a'..=b'f' => Ok(d - b'a' + 10),
            b'A'..=b'F' => Ok(d - b'A' + 10),
            _ => Err(JavaSerError::BadHex(format!("non-hex character {:?}", char::from(d)))),
        }
    };
    digits.chunks_exact(2).map(|pair| Ok((nibble(pair[0])? << 4) | nibble(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyPart::{Byte, Int, Long, Null, Short, Str};

    fn s(v: &str) -> KeyPart {
        Str(v.to_owned())
    }

    /// The `Object[]` prefix (magic, array class descriptor) shared by every vector; then the
    /// 4-byte length follows.
    const ARRAY_HEAD: &str = "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870";
    /// Vectors from Debezium 3.6.3's offsets (written by Java's `ObjectOutputStream`).
    fn debezium_vectors() -> Vec<(&'static str, Vec<KeyPart>)> {
        vec![
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000001737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000008", vec![Int(8)]),
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000001737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000001", vec![Int(1)]),
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c02000078700000000274000161737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000001", vec![s("a"), Int(1)]),
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c02000078700000000274000161737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b02000078700000000a", vec![s("a"), Int(10)]),
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c02000078700000000274000163737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000000", vec![s("c"), Int(0)]),
        ]
    }

    /// Produced by Java's `ObjectOutputStream` (OpenJDK 17.0.15) writing `new Object[]{...}`, with
    /// numbers boxed by `valueOf` (as JDBC drivers and autoboxing do) and strings built with
    /// `new String(..)` (distinct instances, as JDBC returns them).
    fn jvm_vectors() -> Vec<(&'static str, Vec<KeyPart>)> {
        vec![
            // {Long.valueOf(-5000000000L)}
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000017372000e6a6176612e6c616e672e4c6f6e673b8be490cc8f23df0200014a000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870fffffffed5fa0e00", vec![Long(-5_000_000_000)]),
            // {Short.valueOf((short) -300)}
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000017372000f6a6176612e6c616e672e53686f7274684d37133460da5202000153000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870fed4", vec![Short(-300)]),
            // {Byte.valueOf((byte) -3)}
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000017372000e6a6176612e6c616e672e427974659c4e6084ee50f51c02000142000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870fd", vec![Byte(-3)]),
            // {1, 2}: the second Integer refers to the Integer class descriptor (handle 0x7e0002)
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000002737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870000000017371007e000200000002", vec![Int(1), Int(2)]),
            // {7, 7}: one cached Integer instance, the second element refers to the object 0x7e0004
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000002737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b02000078700000000771007e0004", vec![Int(7), Int(7)]),
            // {1000, 1000}: not cached, two objects
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000002737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870000003e87371007e0002000003e8", vec![Int(1000), Int(1000)]),
            // {"ab", "cd"}
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c02000078700000000274000261627400026364", vec![s("ab"), s("cd")]),
            // {"a\0é€😀"}
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c02000078700000000174000e61c080c3a9e282aceda0bdedb880", vec![s("a\0é€😀")]),
            // {null, 3, null}
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c02000078700000000370737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b02000078700000000370", vec![Null, Int(3), Null]),
            // {}
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000000", vec![]),
            // {"x", -1, 9L, (short) 2, (byte) 127, null, 200, 100000L, "x"}
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c02000078700000000974000178737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870ffffffff7372000e6a6176612e6c616e672e4c6f6e673b8be490cc8f23df0200014a000576616c75657871007e000400000000000000097372000f6a6176612e6c616e672e53686f7274684d37133460da5202000153000576616c75657871007e000400027372000e6a6176612e6c616e672e427974659c4e6084ee50f51c02000142000576616c75657871007e00047f707371007e0003000000c87371007e000600000000000186a074000178",
             vec![s("x"), Int(-1), Long(9), Short(2), Byte(127), Null, Int(200), Long(100_000), s("x")]),
            // {Long.MIN_VALUE, Long.MAX_VALUE, 0L, 0L, 128L, 128L}: cached 0L shared, 128L not
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000067372000e6a6176612e6c616e672e4c6f6e673b8be490cc8f23df0200014a000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787080000000000000007371007e00027fffffffffffffff7371007e0002000000000000000071007e00067371007e000200000000000000807371007e00020000000000000080", vec![Long(i64::MIN), Long(i64::MAX), Long(0), Long(0), Long(128), Long(128)]),
            // {Short.MIN_VALUE, (short) -128, (short) -128, Short.MAX_VALUE}
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000047372000f6a6176612e6c616e672e53686f7274684d37133460da5202000153000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787080007371007e0002ff8071007e00057371007e00027fff", vec![Short(i16::MIN), Short(-128), Short(-128), Short(i16::MAX)]),
            // {Byte.MIN_VALUE, Byte.MAX_VALUE, Byte.MIN_VALUE, (byte) 0}: every Byte is cached
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000047372000e6a6176612e6c616e672e427974659c4e6084ee50f51c02000142000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870807371007e00027f71007e00047371007e000200", vec![Byte(i8::MIN), Byte(i8::MAX), Byte(i8::MIN), Byte(0)]),
            // {1, 2, 1, Integer.MIN_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE}
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000006737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870000000017371007e00020000000271007e00047371007e0002800000007371007e00027fffffff7371007e00027fffffff", vec![Int(1), Int(2), Int(1), Int(i32::MIN), Int(i32::MAX), Int(i32::MAX)]),
            // {"", "\0", "😀", "a\0b\u07ff\u0800\uffff" + U+10000 + U+10FFFF}
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000004740000740002c080740006eda0bdedb88074001861c08062dfbfe0a080efbfbfeda080edb080edafbfedbfbf", vec![s(""), s("\0"), s("😀"), s("a\0b\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}")]),
            // {5, 5L, (short) 5, (byte) 5, "5", null, 5, 5L, (short) 5, (byte) 5}: per-class identity
            ("aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c02000078700000000a737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870000000057372000e6a6176612e6c616e672e4c6f6e673b8be490cc8f23df0200014a000576616c75657871007e000300000000000000057372000f6a6176612e6c616e672e53686f7274684d37133460da5202000153000576616c75657871007e000300057372000e6a6176612e6c616e672e427974659c4e6084ee50f51c02000142000576616c75657871007e000305740001357071007e000471007e000671007e000871007e000a", vec![Int(5), Long(5), Short(5), Byte(5), s("5"), Null, Int(5), Long(5), Short(5), Byte(5)]),
        ]
    }

    fn all_vectors() -> Vec<(&'static str, Vec<KeyPart>)> {
        let mut v = debezium_vectors();
        v.extend(jvm_vectors());
        v
    }

    #[test]
    fn null_round_trips() {
        assert_eq!(encode_null(), [0xac, 0xed, 0x00, 0x05, 0x70]);
        assert_eq!(to_hex(&encode_null()), "aced000570");
        assert_eq!(decode_key(&encode_null()), Ok(None));
        assert_eq!(decode_key_hex("aced000570"), Ok(None));
        assert_eq!(decode_key_hex("ACED000570"), Ok(None));
    }

    #[test]
    fn encodes_java_bytes_exactly() {
        for (hex, parts) in all_vectors() {
            assert_eq!(encode_key_hex(&parts), hex, "encoding {parts:?}");
            assert_eq!(encode_key(&parts), from_hex(hex).unwrap());
        }
    }

    #[test]
    fn decodes_java_bytes() {
        for (hex, parts) in all_vectors() {
            assert_eq!(decode_key_hex(hex), Ok(Some(parts.clone())), "decoding {hex}");
        }
    }

    #[test]
    fn shared_prefixes_match_the_format() {
        let one_int = encode_key_hex(&[Int(8)]);
        assert!(one_int.starts_with(&format!("{ARRAY_HEAD}00000001")));
        assert_eq!(encode_key_hex(&[]), format!("{ARRAY_HEAD}00000000"));
    }

    #[test]
    fn round_trips() {
        let keys: Vec<Vec<KeyPart>> = vec![
            vec![Long(i64::MIN), Long(i64::MAX), Long(0), Long(0), Long(128), Long(128)],
            vec![Short(i16::MIN), Short(-128), Short(-128), Short(i16::MAX)],
            vec![Byte(i8::MIN), Byte(i8::MAX), Byte(i8::MIN), Byte(0)],
            vec![Int(1), Int(2), Int(1), Int(i32::MIN), Int(i32::MAX), Int(i32::MAX)],
            vec![s("a"), s("a"), s("b")],
            vec![s(""), s("\0"), s("😀"), s("a\0b\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}")],
            vec![Null, Null],
            vec![Int(5), Long(5), Short(5), Byte(5), s("5"), Null, Int(5), Long(5), Short(5), Byte(5)],
            vec![s(&"é".repeat(40_000))], // 80000 bytes: TC_LONGSTRING
            vec![s(&"q".repeat(65_535)), s(&"q".repeat(65_536))],
        ];
        for parts in keys {
            let bytes = encode_key(&parts);
            assert_eq!(decode_key(&bytes), Ok(Some(parts.clone())));
            assert_eq!(decode_key_hex(&encode_key_hex(&parts)), Ok(Some(parts)));
        }
    }

    #[test]
    fn long_string_uses_tc_longstring() {
        // Java writes a 70000-character string as TC_LONGSTRING with an 8-byte length
        // (checked with ObjectOutputStream: `...00000001 7c 0000000000011170 7171...`).
        let hex = encode_key_hex(&[s(&"q".repeat(70_000))]);
        assert!(hex.starts_with(&format!("{ARRAY_HEAD}000000017c00000000000111707171")));
        let at_limit = encode_key_hex(&[s(&"q".repeat(65_535))]);
        assert!(at_limit.starts_with(&format!("{ARRAY_HEAD}0000000174ffff71")));
    }

    #[test]
    fn modified_utf8_matches_java() {
        assert_eq!(modified_utf8("a\0é"), [b'a', 0xc0, 0x80, 0xc3, 0xa9]);
        assert_eq!(modified_utf8("😀"), [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]);
        assert_eq!(decode_modified_utf8(&[0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]), Ok("😀".to_owned()));
        // Java accepts a raw zero byte and overlong forms.
        assert_eq!(decode_modified_utf8(&[0x00, 0xc1, 0x81]), Ok("\0A".to_owned()));
        // Unpaired surrogate, bad lead byte, missing continuation.
        assert_eq!(decode_modified_utf8(&[0xed, 0xa0, 0xbd]), Err(JavaSerError::BadUtf));
        assert_eq!(decode_modified_utf8(&[0xf0, 0x9f, 0x98, 0x80]), Err(JavaSerError::BadUtf));
        assert_eq!(decode_modified_utf8(&[0x80]), Err(JavaSerError::BadUtf));
        assert_eq!(decode_modified_utf8(&[0xc3]), Err(JavaSerError::BadUtf));
        assert_eq!(decode_modified_utf8(&[0xe2, 0x82, 0x41]), Err(JavaSerError::BadUtf));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode_key(&[]), Err(JavaSerError::BadMagic));
        assert_eq!(decode_key(&[0xac, 0xed, 0x00]), Err(JavaSerError::BadMagic));
        assert_eq!(decode_key(&[0xac, 0xed, 0x00, 0x04, 0x70]), Err(JavaSerError::BadMagic));
        assert_eq!(decode_key(&[0xac, 0xed, 0x00, 0x05]), Err(JavaSerError::Truncated));
        assert_eq!(decode_key_hex("aced00057070"), Err(JavaSerError::TrailingBytes(1)));
        assert!(matches!(decode_key_hex("aced000574000161"), Err(JavaSerError::Unsupported(_))));
        assert!(matches!(decode_key_hex("aced0"), Err(JavaSerError::BadHex(_))));
        assert!(matches!(decode_key_hex("aced00057g"), Err(JavaSerError::BadHex(_))));
        assert!(matches!(decode_key_hex("aced00057é"), Err(JavaSerError::BadHex(_))));

        let int8 = debezium_vectors()[0].0;
        // Wrong serialVersionUID of Integer.
        let bad_suid = int8.replace("12e2a0a4f7818738", "12e2a0a4f7818739");
        assert!(matches!(decode_key_hex(&bad_suid), Err(JavaSerError::Unsupported(_))));
        // Another class of the same shape.
        let other_class = int8.replace("496e7465676572", "496e7465676573");
        assert!(matches!(decode_key_hex(&other_class), Err(JavaSerError::Unsupported(_))));
        // Field renamed.
        let bad_field = int8.replace("000576616c7565", "000576616c7566");
        assert!(matches!(decode_key_hex(&bad_field), Err(JavaSerError::Unsupported(_))));
        // Negative array length.
        let negative = format!("{ARRAY_HEAD}ffffffff");
        assert!(matches!(decode_key_hex(&negative), Err(JavaSerError::Unsupported(_))));
        // Huge array length with no elements: truncated, no huge allocation.
        assert_eq!(decode_key_hex(&format!("{ARRAY_HEAD}7fffffff")), Err(JavaSerError::Truncated));
        // Element referring to the array itself, to a class descriptor, to nothing.
        for (handle, wire) in [("7e0001", 0x7e_0001), ("7e0000", 0x7e_0000), ("7e0002", 0x7e_0002)] {
            let hex = format!("{ARRAY_HEAD}0000000171{:0>8}", handle);
            assert_eq!(decode_key_hex(&hex), Err(JavaSerError::BadHandle(wire)));
        }
        assert_eq!(decode_key_hex(&format!("{ARRAY_HEAD}000000017100000000")), Err(JavaSerError::BadHandle(0)));
        // Nested array as element.
        let nested = format!("{ARRAY_HEAD}000000017571007e000000000000");
        assert!(matches!(decode_key_hex(&nested), Err(JavaSerError::Unsupported(_))));
        // A class descriptor whose super class refers to itself.
        let cyclic = format!("{}71007e000000000000", &ARRAY_HEAD[..ARRAY_HEAD.len() - 2]);
        assert_eq!(decode_key_hex(&cyclic), Err(JavaSerError::BadHandle(0x7e_0000)));
    }

    #[test]
    fn prefixes_and_mutations_never_panic() {
        let mut inputs: Vec<Vec<u8>> = all_vectors().iter().map(|(hex, _)| from_hex(hex).unwrap()).collect();
        inputs.push(encode_key(&[s("a\0é€😀"), Long(1), Short(2), Byte(3), Null, s("a\0é€😀")]));
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for bytes in &inputs {
            for end in 0..bytes.len() {
                assert!(decode_key(&bytes[..end]).is_err(), "prefix of length {end} decoded");
            }
            for _ in 0..2_000 {
                let mut mutated = bytes.clone();
                for _ in 0..=(next() % 3) {
                    let at = (next() % mutated.len() as u64) as usize;
                    mutated[at] = next() as u8;
                }
                let _ = decode_key(&mutated);
            }
        }
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let mut garbage: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if garbage.len() >= 4 && next() % 2 == 0 {
                garbage[..4].copy_from_slice(&[0xac, 0xed, 0x00, 0x05]);
            }
            let _ = decode_key(&garbage);
        }
    }
}
