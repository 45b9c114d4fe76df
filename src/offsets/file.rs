//! The offsets file of Kafka Connect standalone and the Debezium embedded engine
//! (`org.apache.kafka.connect.storage.FileOffsetBackingStore`, `offset.storage.file.filename`).
//!
//! **Format.** Connect writes the whole store on every flush with `ObjectOutputStream.writeObject`
//! of a `java.util.HashMap<byte[], byte[]>` (key and value are the offset JSON bytes, see
//! [`super`]). With one entry the file is 236 bytes:
//!
//! ```text
//! AC ED 00 05                      stream magic, version 5
//! 73 72 "java.util.HashMap" suid   TC_OBJECT, TC_CLASSDESC (handle 0x7E0000), flags 03
//!    00 02 'F' "loadFactor" 'I' "threshold" 78 70     2 fields, end of annotation, no superclass
//! 3F 40 00 00  00 00 00 0C         loadFactor 0.75f, threshold 12   (object handle 0x7E0001)
//! 77 08  00 00 00 10  00 00 00 01  TC_BLOCKDATA: capacity 16, size 1
//! 75 72 "[B" suid 02 00 00 78 70   TC_ARRAY of a new class desc `[B` (handle 0x7E0002)
//!    00 00 00 28 <40 key bytes>
//! 75 71 00 7E 00 02 00 00 00 51 <81 value bytes>   TC_ARRAY, TC_REFERENCE to `[B`
//! 78                               TC_ENDBLOCKDATA (end of HashMap.writeObject data)
//! ```
//!
//! **Why hand-written.** No maintained Rust crate both reads and writes the Java Object
//! Serialization Stream Protocol: `jaded` (0.5.0, crates.io) only deserializes, and byte parity on
//! write is what lets a user switch back to Connect. The subset needed here is small (one
//! `HashMap`, `byte[]` arrays, nulls, back-references), so it is implemented directly from the
//! protocol specification.
//!
//! **Reading** is tolerant: any number of entries, `null` keys/values, `TC_REFERENCE` to earlier
//! class descriptors or arrays, any `serialVersionUID`, extra class-descriptor fields, long block
//! data; trailing bytes after the map are ignored (Java ignores them too). Anything else is a
//! [`OffsetError::Corrupt`] naming the file and byte offset; no input makes it panic. A missing
//! file is an empty store.
//!
//! **Writing** produces exactly what Connect writes for the same entries: `new HashMap<>()`
//! filled with the entries (capacity 16, doubled while the size exceeds 3/4 of it; an empty map
//! has threshold 0), entries in this store's order (Connect's own order is that of `byte[]`
//! identity hashes, i.e. arbitrary, so any order is valid to Connect). The write is atomic: a
//! temporary file in the same directory, `fsync`, `rename`, then `fsync` of the directory
//! (Connect itself overwrites in place).
//!
//! **Sharing.** The connectors of one worker (`cdc-connector serve`) keep their offsets in the
//! worker's one file. [`FileOffsetStore::update`] therefore re-reads the file, changes only its
//! own entry and writes the result, under a process-wide lock: a commit never drops another
//! connector's offset, nor one the REST API (`PATCH /connectors/{name}/offsets`) wrote.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{offset_key_json, parse_offset_key, OffsetError, SourceOffset};
use crate::java_ser::{
    BASE_WIRE_HANDLE, SC_SERIALIZABLE, SC_WRITE_METHOD, TC_ARRAY, TC_BLOCKDATA, TC_BLOCKDATALONG, TC_CLASSDESC,
    TC_ENDBLOCKDATA, TC_LONGSTRING, TC_NULL, TC_OBJECT, TC_REFERENCE, TC_STRING,
};

const STREAM_MAGIC: u16 = 0xACED;
const STREAM_VERSION: u16 = 5;

const HASHMAP_CLASS: &str = "java.util.HashMap";
const HASHMAP_SUID: u64 = 0x0507_DAC1_C316_60D1;
const BYTE_ARRAY_CLASS: &str = "[B";
const BYTE_ARRAY_SUID: u64 = 0xACF3_17F8_0608_54E0;

/// Serialises every read-modify-write of an offsets file in this process.
static WRITE_LOCK: Mutex<()> = Mutex::new(());

/// One entry of the stored map; Connect allows `null` keys and values (a `null` value is a
/// deleted offset).
pub type RawEntry = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Kafka Connect's file offset store, read and written in Connect's own format.
#[derive(Debug, Clone)]
pub struct FileOffsetStore {
    path: PathBuf,
    entries: Vec<RawEntry>,
}

impl FileOffsetStore {
    /// Open the store at `path` and read it; a missing file is an empty store.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OffsetError> {
        let path = path.as_ref().to_path_buf();
        let entries = match fs::read(&path) {
            Ok(bytes) => decode_java_map(&bytes).map_err(|e| OffsetError::Corrupt {
                path: path.clone(),
                offset: e.offset,
                reason: e.reason,
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(OffsetError::Io { path, source }),
        };
        Ok(FileOffsetStore { path, entries })
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All entries with a non-null key and value, as Connect's `data` map holds them.
    pub fn load(&self) -> HashMap<Vec<u8>, Vec<u8>> {
        self.entries.iter().filter_map(|(k, v)| Some((k.clone()?, v.clone()?))).collect()
    }

    /// All entries, nulls included, in file order.
    pub fn entries(&self) -> &[RawEntry] {
        &self.entries
    }

    /// The stored Debezium offset of connector `connector_name` with `topic.prefix` `prefix`;
    /// `None` when there is none (or it was deleted with a null value).
    pub fn get(&self, connector_name: &str, prefix: &str) -> Result<Option<SourceOffset>, OffsetError> {
        let exact = offset_key_json(connector_name, prefix);
        let found = self.entries.iter().find(|(k, _)| match k {
            Some(k) if *k == exact => true,
            // Tolerate keys written with other JSON spacing.
            Some(k) => parse_offset_key(k).is_some_and(|(n, p)| n == connector_name && p == prefix),
            None => false,
        });
        match found {
            Some((_, Some(value))) => SourceOffset::from_json(value).map(Some),
            _ => Ok(None),
        }
    }

    /// Set the offset of connector `connector_name` / `prefix` (in memory; see [`Self::flush`]).
    pub fn put(&mut self, connector_name: &str, prefix: &str, offset: &SourceOffset) {
        let key = offset_key_json(connector_name, prefix);
        // Drop equivalent keys spelled differently so that only one entry remains.
        self.entries.retain(|(k, _)| match k {
            Some(k) if *k != key => parse_offset_key(k).is_none_or(|(n, p)| n != connector_name || p != prefix),
            _ => true,
        });
        self.put_raw(Some(key), Some(offset.to_json()));
    }

    /// Remove the offset of connector `connector_name` / `prefix` (in memory), however its key is
    /// spelled.
    pub fn remove(&mut self, connector_name: &str, prefix: &str) {
        let key = offset_key_json(connector_name, prefix);
        self.entries.retain(|(k, _)| match k {
            Some(k) if *k == key => false,
            Some(k) => parse_offset_key(k).is_none_or(|(n, p)| n != connector_name || p != prefix),
            None => true,
        });
    }

    /// Set (`Some`) or remove (`None`) the offset of connector `connector_name` / `prefix` in
    /// the file, keeping every other entry as the file holds it now: re-read, change, write
    /// atomically, under a process-wide lock (module doc, "Sharing").
    pub fn update(
        &mut self,
        connector_name: &str,
        prefix: &str,
        offset: Option<&SourceOffset>,
    ) -> Result<(), OffsetError> {
        let _guard = WRITE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        self.entries = Self::open(&self.path)?.entries;
        match offset {
            Some(o) => self.put(connector_name, prefix, o),
            None => self.remove(connector_name, prefix),
        }
        self.flush()
    }

    /// Set a raw entry (in memory), replacing an entry with the same key bytes.
    pub fn put_raw(&mut self, key: Option<Vec<u8>>, value: Option<Vec<u8>>) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Write the store to its file atomically, in the bytes Connect would write.
    pub fn flush(&self) -> Result<(), OffsetError> {
        let bytes = encode_java_map(&self.entries);
        write_atomically(&self.path, &bytes, None).map_err(|source| OffsetError::Io { path: self.path.clone(), source })
    }
}

/// Replace `path` with `bytes` atomically: a temporary file in the same directory (created with
/// `mode` on Unix when given), `fsync`, `rename`, then `fsync` of the directory (best effort).
pub fn write_atomically(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| io::Error::other("the path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if let Some(m) = mode {
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, m);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // Persist the rename itself (best effort where directories cannot be opened).
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Where and why decoding a Java serialization stream failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset of the failure.
    pub offset: usize,
    /// What was expected there.
    pub reason: String,
}

/// Serialize `entries` exactly as `ObjectOutputStream.writeObject(HashMap<byte[], byte[]>)` does
/// for a map built with `new HashMap<>()` and one `put` per entry, in order.
pub fn encode_java_map(entries: &[RawEntry]) -> Vec<u8> {
    let size = entries.len();
    let (capacity, threshold) = if size == 0 {
        // Never-used table: capacity() reports the default 16, threshold is still 0.
        (16usize, 0usize)
    } else {
        let mut cap = 16usize;
        while size > cap / 4 * 3 {
            cap *= 2;
        }
        (cap, cap / 4 * 3)
    };
    let payload: usize =
        entries.iter().map(|(k, v)| k.as_ref().map_or(0, |b| b.len()) + v.as_ref().map_or(0, |b| b.len())).sum();
    let mut out = Vec::with_capacity(128 + payload + entries.len() * 16);
    out.extend_from_slice(&STREAM_MAGIC.to_be_bytes());
    out.extend_from_slice(&STREAM_VERSION.to_be_bytes());
    out.push(TC_OBJECT);
    out.push(TC_CLASSDESC);
    put_utf(&mut out, HASHMAP_CLASS);
    out.extend_from_slice(&HASHMAP_SUID.to_be_bytes());
    out.push(SC_SERIALIZABLE | SC_WRITE_METHOD);
    out.extend_from_slice(&2u16.to_be_bytes());
    out.push(b'F');
    put_utf(&mut out, "loadFactor");
    out.push(b'I');
    put_utf(&mut out, "threshold");
    out.push(TC_ENDBLOCKDATA);
    out.push(TC_NULL);
    out.extend_from_slice(&0.75f32.to_be_bytes());
    out.extend_from_slice(&(threshold as i32).to_be_bytes());
    out.push(TC_BLOCKDATA);
    out.push(8);
    out.extend_from_slice(&(capacity as i32).to_be_bytes());
    out.extend_from_slice(&(size as i32).to_be_bytes());
    // Handles: 0 = HashMap desc, 1 = the map, 2 = `[B` desc (first array written), then arrays.
    let mut byte_array_desc_written = false;
    for (k, v) in entries {
        for item in [k, v] {
            match item {
                None => out.push(TC_NULL),
                Some(bytes) => {
                    out.push(TC_ARRAY);
                    if byte_array_desc_written {
                        out.push(TC_REFERENCE);
                        out.extend_from_slice(&(BASE_WIRE_HANDLE + 2).to_be_bytes());
                    } else {
                        out.push(TC_CLASSDESC);
                        put_utf(&mut out, BYTE_ARRAY_CLASS);
                        out.extend_from_slice(&BYTE_ARRAY_SUID.to_be_bytes());
                        out.push(SC_SERIALIZABLE);
                        out.extend_from_slice(&0u16.to_be_bytes());
                        out.push(TC_ENDBLOCKDATA);
                        out.push(TC_NULL);
                        byte_array_desc_written = true;
                    }
                    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                    out.extend_from_slice(bytes);
                }
            }
        }
    }
    out.push(TC_ENDBLOCKDATA);
    out
}

/// `DataOutput.writeUTF` for the ASCII class and field names used here.
fn put_utf(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Deserialize a Java-serialized `HashMap<byte[], byte[]>` (see the module doc for what is
/// accepted). Entries come back in stream order.
pub fn decode_java_map(bytes: &[u8]) -> Result<Vec<RawEntry>, DecodeError> {
    let mut r = JavaReader { buf: bytes, pos: 0, handles: Vec::new() };
    let magic = r.u16()?;
    if magic != STREAM_MAGIC {
        return Err(r.err_at(0, "not a Java serialization stream (missing magic 0xACED)"));
    }
    let version = r.u16()?;
    if version != STREAM_VERSION {
        return Err(r.err_at(2, format!("unsupported stream version {version}")));
    }
    let start = r.pos;
    if r.u8()? != TC_OBJECT {
        return Err(r.err_at(start, "expected a serialized object (TC_OBJECT)"));
    }
    let desc_at = r.pos;
    let desc = r.class_desc()?;
    let desc = match desc {
        Some(d) => d,
        None => return Err(r.err_at(desc_at, "the object has a null class descriptor")),
    };
    if desc.name != HASHMAP_CLASS {
        return Err(r.err_at(desc_at, format!("expected a java.util.HashMap, found {}", desc.name)));
    }
    if desc.flags & SC_WRITE_METHOD == 0 {
        return Err(r.err_at(desc_at, "HashMap class descriptor lacks SC_WRITE_METHOD"));
    }
    // The map object itself takes the next handle.
    r.handles.push(Handle::Other);
    // defaultWriteObject(): the descriptor's field values in order.
    for field in &desc.fields {
        r.skip_field_value(*field)?;
    }
    // writeObject(): block data holding capacity and size, then the entries.
    let (mut block, block_at) = r.block_data()?;
    if block.len() < 8 {
        return Err(r.err_at(block_at, "HashMap block data shorter than 8 bytes"));
    }
    let capacity = i32::from_be_bytes([block[0], block[1], block[2], block[3]]);
    let size = i32::from_be_bytes([block[4], block[5], block[6], block[7]]);
    if capacity < 0 {
        return Err(r.err_at(block_at, format!("negative HashMap capacity {capacity}")));
    }
    if size < 0 {
        return Err(r.err_at(block_at, format!("negative HashMap size {size}")));
    }
    block.clear();
    let mut entries = Vec::new();
    // Back-references repeat arrays for 5 bytes each; bound the decoded volume so a hostile file
    // cannot exhaust memory.
    let budget = bytes.len().saturating_mul(16).max(1 << 20);
    let mut decoded = 0usize;
    for _ in 0..size {
        let entry_at = r.pos;
        let key = r.byte_array_or_null()?;
        let value = r.byte_array_or_null()?;
        decoded += key.as_ref().map_or(0, Vec::len) + value.as_ref().map_or(0, Vec::len);
        if decoded > budget {
            return Err(r.err_at(entry_at, "too much data referenced by back-references"));
        }
        entries.push((key, value));
    }
    let end_at = r.pos;
    if r.u8()? != TC_ENDBLOCKDATA {
        return Err(r.err_at(end_at, "expected the end of the HashMap data (TC_ENDBLOCKDATA)"));
    }
    Ok(entries)
}

/// A decoded class descriptor (only what is needed).
#[derive(Debug, Clone)]
struct ClassDesc {
    name: String,
    flags: u8,
    /// Field type codes, in stream order.
    fields: Vec<u8>,
}

#[derive(Debug, Clone)]
enum Handle {
    Desc(ClassDesc),
    Bytes(Vec<u8>),
    Other,
}

struct JavaReader<'a> {
    buf: &'a [u8],
    pos: usize,
    handles: Vec<Handle>,
}

impl JavaReader<'_> {
    fn err_at(&self, offset: usize, reason: impl Into<String>) -> DecodeError {
        DecodeError { offset, reason: reason.into() }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(self.err_at(
                self.pos,
                format!("unexpected end of file: needed {n} more bytes, {} left", self.buf.len() - self.pos),
            )),
        }
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn utf(&mut self) -> Result<String, DecodeError> {
        let at = self.pos;
        let len = self.u16()? as usize;
        let bytes = self.take(len)?;
        // Modified UTF-8 equals UTF-8 for the names that matter; others are compared lossily.
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) if len > 0 => Ok(String::from_utf8_lossy(bytes).into_owned()),
            Err(_) => Err(self.err_at(at, "invalid string")),
        }
    }

    fn handle(&mut self) -> Result<(usize, &Handle), DecodeError> {
        let at = self.pos;
        let raw = self.u32()?;
        let idx = raw.checked_sub(BASE_WIRE_HANDLE).map(|i| i as usize);
        match idx.and_then(|i| self.handles.get(i).map(|h| (i, h))) {
            Some((i, _)) => Ok((i, &self.handles[i])),
            None => Err(self.err_at(at, format!("reference to unknown handle 0x{raw:08X}"))),
        }
    }

    /// A class descriptor: new (`TC_CLASSDESC`), back-reference, or null.
    fn class_desc(&mut self) -> Result<Option<ClassDesc>, DecodeError> {
        let at = self.pos;
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_REFERENCE => match self.handle()? {
                (_, Handle::Desc(d)) => Ok(Some(d.clone())),
                _ => Err(self.err_at(at, "reference is not a class descriptor")),
            },
            TC_CLASSDESC => {
                let name = self.utf()?;
                self.take(8)?; // serialVersionUID: any value is accepted
                let slot = self.handles.len();
                self.handles.push(Handle::Other);
                let flags = self.u8()?;
                let count = self.u16()?;
                let mut fields = Vec::new();
                for _ in 0..count {
                    let type_at = self.pos;
                    let code = self.u8()?;
                    self.utf()?; // field name
                    match code {
                        b'B' | b'C' | b'D' | b'F' | b'I' | b'J' | b'S' | b'Z' => {}
                        b'L' | b'[' => self.class_name_string()?,
                        other => return Err(self.err_at(type_at, format!("unknown field type code 0x{other:02X}"))),
                    }
                    fields.push(code);
                }
                self.skip_annotation()?;
                // Superclass descriptor: none for HashMap and arrays, but tolerate one (its
                // field values would precede ours; only primitive ones are supported).
                let super_fields = match self.class_desc()? {
                    Some(s) => s.fields,
                    None => Vec::new(),
                };
                let mut all = super_fields;
                all.extend(fields);
                let desc = ClassDesc { name, flags, fields: all };
                self.handles[slot] = Handle::Desc(desc.clone());
                Ok(Some(desc))
            }
            other => Err(self.err_at(at, format!("expected a class descriptor, found tag 0x{other:02X}"))),
        }
    }

    /// The type-name string of an object field: a new string or a back-reference.
    fn class_name_string(&mut self) -> Result<(), DecodeError> {
        let at = self.pos;
        match self.u8()? {
            TC_STRING => {
                self.utf()?;
                self.handles.push(Handle::Other);
                Ok(())
            }
            TC_LONGSTRING => {
                let hi = self.u32()? as usize;
                let lo = self.u32()? as usize;
                if hi != 0 {
                    return Err(self.err_at(at, "string too long"));
                }
                self.take(lo)?;
                self.handles.push(Handle::Other);
                Ok(())
            }
            TC_REFERENCE => self.handle().map(|_| ()),
            other => Err(self.err_at(at, format!("expected a type name string, found tag 0x{other:02X}"))),
        }
    }

    /// Class annotation: block data and end marker (objects in annotations are not supported).
    fn skip_annotation(&mut self) -> Result<(), DecodeError> {
        loop {
            let at = self.pos;
            match self.u8()? {
                TC_ENDBLOCKDATA => return Ok(()),
                TC_BLOCKDATA => {
                    let n = self.u8()? as usize;
                    self.take(n)?;
                }
                TC_BLOCKDATALONG => {
                    let n = self.u32()? as usize;
                    self.take(n)?;
                }
                other => {
                    return Err(self.err_at(at, format!("unsupported class annotation content (tag 0x{other:02X})")))
                }
            }
        }
    }

    fn skip_field_value(&mut self, code: u8) -> Result<(), DecodeError> {
        let at = self.pos;
        let n = match code {
            b'B' | b'Z' => 1,
            b'C' | b'S' => 2,
            b'F' | b'I' => 4,
            b'D' | b'J' => 8,
            _ => return Err(self.err_at(at, "object-valued HashMap fields are not supported")),
        };
        self.take(n).map(|_| ())
    }

    /// Consecutive block-data segments (`TC_BLOCKDATA` / `TC_BLOCKDATALONG`), concatenated.
    fn block_data(&mut self) -> Result<(Vec<u8>, usize), DecodeError> {
        let first_at = self.pos;
        let mut data = Vec::new();
        loop {
            let at = self.pos;
            match self.buf.get(at) {
                Some(&TC_BLOCKDATA) => {
                    self.pos += 1;
                    let n = self.u8()? as usize;
                    data.extend_from_slice(self.take(n)?);
                }
                Some(&TC_BLOCKDATALONG) => {
                    self.pos += 1;
                    let n = self.u32()? as usize;
                    data.extend_from_slice(self.take(n)?);
                }
                _ if at == first_at => return Err(self.err_at(at, "expected HashMap block data (TC_BLOCKDATA)")),
                _ => return Ok((data, first_at)),
            }
            if data.len() >= 8 {
                return Ok((data, first_at));
            }
        }
    }

    /// A `byte[]` (new or back-reference) or `null`.
    fn byte_array_or_null(&mut self) -> Result<Option<Vec<u8>>, DecodeError> {
        let at = self.pos;
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_REFERENCE => match self.handle()? {
                (_, Handle::Bytes(b)) => Ok(Some(b.clone())),
                _ => Err(self.err_at(at, "reference is not a byte array")),
            },
            TC_ARRAY => {
                let desc_at = self.pos;
                let desc = self.class_desc()?;
                match desc {
                    Some(d) if d.name == BYTE_ARRAY_CLASS => {}
                    Some(d) => {
                        return Err(self
                            .err_at(desc_at, format!("expected a byte[] key or value, found an array of {}", d.name)))
                    }
                    None => return Err(self.err_at(desc_at, "array without a class descriptor")),
                }
                let slot = self.handles.len();
                self.handles.push(Handle::Other);
                let len_at = self.pos;
                let len = self.u32()? as i32;
                if len < 0 {
                    return Err(self.err_at(len_at, format!("negative array length {len}")));
                }
                let bytes = self.take(len as usize)?.to_vec();
                self.handles[slot] = Handle::Bytes(bytes.clone());
                Ok(Some(bytes))
            }
            other => Err(self.err_at(at, format!("expected a byte[] key or value or null, found tag 0x{other:02X}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offsets::tests::oracle_dir;

    fn golden_dat() -> Vec<u8> {
        fs::read(oracle_dir().join("golden/main.offsets.dat")).unwrap()
    }

    #[test]
    fn golden_file_decodes_and_re_encodes_byte_for_byte() {
        let bytes = golden_dat();
        let entries = decode_java_map(&bytes).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0.as_deref(), Some(&br#"["oracle-engine",{"server":"dbserver1"}]"#[..]));
        assert_eq!(
            entries[0].1.as_deref(),
            Some(&br#"{"ts_sec":1795627630,"file":"mysql-bin.000001","pos":38969,"row":1,"server_id":1}"#[..])
        );
        assert_eq!(encode_java_map(&entries), bytes);
    }

    #[test]
    fn store_get_put_flush_reproduces_golden_file() {
        let dir = tempfile::tempdir().unwrap();
        let golden_path = dir.path().join("golden.dat");
        fs::write(&golden_path, golden_dat()).unwrap();
        let store = FileOffsetStore::open(&golden_path).unwrap();
        let offset = store.get("oracle-engine", "dbserver1").unwrap().unwrap();
        assert_eq!(offset.pos, 38969);
        assert_eq!(offset.row, Some(1));
        assert_eq!(store.get("other", "dbserver1").unwrap(), None);
        assert_eq!(store.load().len(), 1);

        // A fresh store given the same offset writes the same bytes.
        let path = dir.path().join("sub.dat");
        let mut fresh = FileOffsetStore::open(&path).unwrap();
        assert!(fresh.entries().is_empty());
        fresh.put("oracle-engine", "dbserver1", &offset);
        fresh.flush().unwrap();
        assert_eq!(fs::read(&path).unwrap(), golden_dat());
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);

        // Updating replaces the entry in place.
        let mut again = FileOffsetStore::open(&path).unwrap();
        let mut next = offset.clone();
        next.pos = 40000;
        again.put("oracle-engine", "dbserver1", &next);
        again.flush().unwrap();
        let reread = FileOffsetStore::open(&path).unwrap();
        assert_eq!(reread.entries().len(), 1);
        assert_eq!(reread.get("oracle-engine", "dbserver1").unwrap(), Some(next));
    }

    #[test]
    fn many_entries_nulls_and_references_round_trip() {
        for n in [0usize, 1, 2, 12, 13, 25, 100] {
            let entries: Vec<RawEntry> = (0..n)
                .map(|i| {
                    let k = if i == 3 { None } else { Some(format!("k{i}").into_bytes()) };
                    let v = if i % 5 == 1 { None } else { Some(vec![b'v'; i]) };
                    (k, v)
                })
                .collect();
            let bytes = encode_java_map(&entries);
            assert_eq!(decode_java_map(&bytes).unwrap(), entries, "n={n}");
        }
        // Empty map: threshold 0, capacity 16 (as `new HashMap<>()` writes it).
        let empty = encode_java_map(&[]);
        assert_eq!(
            &empty[empty.len() - 19..],
            &[0x3F, 0x40, 0, 0, 0, 0, 0, 0, 0x77, 8, 0, 0, 0, 0x10, 0, 0, 0, 0, 0x78][..]
        );
        // 13 entries: capacity 32, threshold 24.
        let e13: Vec<RawEntry> = (0..13).map(|i| (Some(vec![i]), None)).collect();
        let b13 = encode_java_map(&e13);
        assert_eq!(&b13[0x3F..0x4F], &[0x3F, 0x40, 0, 0, 0, 0, 0, 24, 0x77, 8, 0, 0, 0, 32, 0, 0][..]);
    }

    #[test]
    fn back_reference_to_an_array_is_resolved() {
        // Same byte[] object used as key and value: Java writes TC_REFERENCE to handle 3.
        let mut bytes = encode_java_map(&[(Some(b"ab".to_vec()), None)]);
        let null_at = bytes.len() - 2;
        assert_eq!(bytes[null_at], TC_NULL);
        bytes.splice(null_at..null_at + 1, [TC_REFERENCE, 0x00, 0x7E, 0x00, 0x03]);
        assert_eq!(decode_java_map(&bytes).unwrap(), vec![(Some(b"ab".to_vec()), Some(b"ab".to_vec()))]);
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let bytes = golden_dat();
        for len in 0..bytes.len() {
            let err = decode_java_map(&bytes[..len]).unwrap_err();
            assert!(err.offset <= len, "len {len}: {err:?}");
        }
        // Flip every byte to a few values; decoding may succeed or fail but must not panic.
        for i in 0..bytes.len() {
            for v in [0x00, 0x70, 0x71, 0x7E, 0xFF] {
                let mut b = bytes.clone();
                b[i] = v;
                let _ = decode_java_map(&b);
            }
        }
        for garbage in [&b""[..], b"\xAC", b"\xAC\xED\x00\x05", b"hello world", &[0xFF; 300]] {
            assert!(decode_java_map(garbage).is_err());
        }
    }

    #[test]
    fn corrupt_file_error_names_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.dat");
        let bytes = golden_dat();
        fs::write(&path, &bytes[..100]).unwrap();
        let msg = FileOffsetStore::open(&path).unwrap_err().to_string();
        assert!(msg.contains("offsets.dat"), "{msg}");
        assert!(msg.contains("byte offset 100"), "{msg}");
        // Missing file = empty store.
        let missing = FileOffsetStore::open(dir.path().join("none.dat")).unwrap();
        assert!(missing.load().is_empty());
        assert_eq!(missing.get("a", "b").unwrap(), None);
    }

    #[test]
    fn updates_of_two_stores_on_one_file_keep_each_others_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.dat");
        let offset = |pos| SourceOffset { file: "mysql-bin.000001".into(), pos, ..SourceOffset::default() };
        // Both open the (empty) file first, as two connectors of one worker do.
        let mut a = FileOffsetStore::open(&path).unwrap();
        let mut b = FileOffsetStore::open(&path).unwrap();
        a.update("a", "pa", Some(&offset(10))).unwrap();
        b.update("b", "pb", Some(&offset(20))).unwrap();
        a.update("a", "pa", Some(&offset(11))).unwrap();
        let read = FileOffsetStore::open(&path).unwrap();
        assert_eq!(read.get("a", "pa").unwrap().unwrap().pos, 11);
        assert_eq!(read.get("b", "pb").unwrap().unwrap().pos, 20);
        // Removing one leaves the other.
        b.update("a", "pa", None).unwrap();
        let read = FileOffsetStore::open(&path).unwrap();
        assert_eq!(read.get("a", "pa").unwrap(), None);
        assert_eq!(read.get("b", "pb").unwrap().unwrap().pos, 20);
        assert_eq!(read.entries().len(), 1);
    }
}
