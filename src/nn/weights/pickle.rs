//! A small, bounds-checked pickle virtual machine: just the opcodes that
//! PyTorch checkpoints (legacy and zip) and pickled numpy dictionaries use.
//!
//! Nothing is executed: `GLOBAL` pushes a [`Value::Global`] naming the
//! callable, `REDUCE`/`NEWOBJ` push a [`Value::Reduce`] holding the callable
//! and its arguments, `BUILD` a [`Value::Build`], and a persistent id
//! (`BINPERSID`) a [`Value::PersId`]. The caller interprets the tree. Every
//! length is checked against the remaining input before anything is
//! allocated, so a truncated or corrupt file gives an error, never a panic.

use std::collections::HashMap;

/// A decoded pickle value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits in i64.
    Int(i64),
    /// A longer integer: little-endian two's-complement bytes.
    BigInt(Vec<u8>),
    /// A float.
    Float(f64),
    /// A text string.
    Str(String),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A list.
    List(Vec<Value>),
    /// A dict, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A global name `module.name`.
    Global {
        /// Dotted module path, e.g. `torch._utils`.
        module: String,
        /// Name within the module, e.g. `_rebuild_tensor_v2`.
        name: String,
    },
    /// `callable(*args)`.
    Reduce {
        /// What is called.
        callable: Box<Value>,
        /// The argument tuple.
        args: Box<Value>,
    },
    /// `obj.__setstate__(state)`.
    Build {
        /// The object whose state is set.
        obj: Box<Value>,
        /// The state passed to `__setstate__`.
        state: Box<Value>,
    },
    /// A persistent id, resolved by the caller.
    PersId(Box<Value>),
    /// The stack mark (never returned).
    Mark,
}

impl Value {
    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
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

    /// The items, if this is a tuple or list.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(v) | Value::List(v) => Some(v),
            _ => None,
        }
    }

    /// Whether this is the global `module.name`.
    pub fn is_global(&self, m: &str, n: &str) -> bool {
        matches!(self, Value::Global { module, name } if module == m && name == n)
    }
}

/// Why a pickle could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleError {
    /// Byte offset of the opcode being decoded.
    pub offset: usize,
    /// Human-readable description of what could not be decoded.
    pub reason: String,
}

impl std::fmt::Display for PickleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pickle at byte {}: {}", self.offset, self.reason)
    }
}

/// Decodes one pickle starting at `*pos` in `data`; on success `*pos` is
/// just past its `STOP` opcode.
pub fn load(data: &[u8], pos: &mut usize) -> Result<Value, PickleError> {
    let mut vm = Vm {
        data,
        pos: *pos,
        op_start: *pos,
        stack: Vec::new(),
        memo: HashMap::new(),
    };
    let v = vm.run()?;
    *pos = vm.pos;
    Ok(v)
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    op_start: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
}

impl<'a> Vm<'a> {
    fn err<T>(&self, reason: impl Into<String>) -> Result<T, PickleError> {
        Err(PickleError {
            offset: self.op_start,
            reason: reason.into(),
        })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        if self.data.len() - self.pos < n {
            return self.err(format!(
                "truncated: needs {n} bytes, {} left",
                self.data.len() - self.pos
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, PickleError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self) -> Result<u32, PickleError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.data[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let s = String::from_utf8_lossy(&rest[..i]).into_owned();
                self.pos += i + 1;
                Ok(s)
            }
            None => self.err("truncated: no newline after GLOBAL"),
        }
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        match self.stack.pop() {
            Some(Value::Mark) | None => self.err("stack underflow"),
            Some(v) => Ok(v),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        match self.stack.iter().rposition(|v| *v == Value::Mark) {
            Some(i) => {
                let items = self.stack.split_off(i + 1);
                self.stack.pop();
                Ok(items)
            }
            None => self.err("no MARK on the stack"),
        }
    }

    fn top(&mut self) -> Result<&mut Value, PickleError> {
        let off = self.op_start;
        self.stack.last_mut().ok_or(PickleError {
            offset: off,
            reason: "empty stack".into(),
        })
    }

    fn memo_get(&self, k: u32) -> Result<Value, PickleError> {
        match self.memo.get(&k) {
            Some(v) => Ok(v.clone()),
            None => self.err(format!("memo key {k} not set")),
        }
    }

    fn memo_put(&mut self, k: u32) -> Result<(), PickleError> {
        let v = match self.stack.last() {
            Some(v) => v.clone(),
            None => return self.err("memo put on empty stack"),
        };
        self.memo.insert(k, v);
        Ok(())
    }

    fn str_of(&self, b: &[u8]) -> Result<String, PickleError> {
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => self.err(format!("invalid utf-8: {e}")),
        }
    }

    fn run(&mut self) -> Result<Value, PickleError> {
        loop {
            self.op_start = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    let p = self.u8()?;
                    if p > 5 {
                        return self.err(format!("unsupported protocol {p}"));
                    }
                }
                0x95 => {
                    self.take(8)?; // FRAME: length of the next frame; frames are contiguous.
                }
                b'.' => {
                    let v = self.pop()?;
                    return Ok(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global { module, name });
                }
                0x93 => {
                    // STACK_GLOBAL
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(module), Value::Str(name)) => {
                            self.stack.push(Value::Global { module, name })
                        }
                        _ => return self.err("STACK_GLOBAL needs two strings"),
                    }
                }
                b'q' => {
                    let k = self.u8()? as u32;
                    self.memo_put(k)?;
                }
                b'r' => {
                    let k = self.u32()?;
                    self.memo_put(k)?;
                }
                0x94 => {
                    // MEMOIZE
                    let k = self.memo.len() as u32;
                    self.memo_put(k)?;
                }
                b'h' => {
                    let k = self.u8()? as u32;
                    let v = self.memo_get(k)?;
                    self.stack.push(v);
                }
                b'j' => {
                    let k = self.u32()?;
                    let v = self.memo_get(k)?;
                    self.stack.push(v);
                }
                b'(' => self.stack.push(Value::Mark),
                b')' => self.stack.push(Value::Tuple(vec![])),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85 => {
                    let a = self.pop()?;
                    self.stack.push(Value::Tuple(vec![a]));
                }
                0x86 => {
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.stack.push(Value::Tuple(vec![a, b]));
                }
                0x87 => {
                    let c = self.pop()?;
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.stack.push(Value::Tuple(vec![a, b, c]));
                }
                b']' => self.stack.push(Value::List(vec![])),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(items));
                }
                b'}' => self.stack.push(Value::Dict(vec![])),
                b'd' => {
                    let items = self.pop_mark()?;
                    let d = self.pairs(items)?;
                    self.stack.push(Value::Dict(d));
                }
                b'a' => {
                    let v = self.pop()?;
                    match self.top()? {
                        Value::List(l) => l.push(v),
                        _ => return self.err("APPEND to a non-list"),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.top()? {
                        Value::List(l) => l.extend(items),
                        _ => return self.err("APPENDS to a non-list"),
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top()? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return self.err("SETITEM on a non-dict"),
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    match self.top()? {
                        Value::Dict(d) => d.extend(pairs),
                        _ => return self.err("SETITEMS on a non-dict"),
                    }
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = self.u8()? as i64;
                    self.stack.push(Value::Int(v));
                }
                b'M' => {
                    let v = self.u16()? as i64;
                    self.stack.push(Value::Int(v));
                }
                b'J' => {
                    let v = self.u32()? as i32 as i64;
                    self.stack.push(Value::Int(v));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(long_value(b));
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes"));
                    self.stack.push(Value::Float(v));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?;
                    let s = self.str_of(b)?;
                    self.stack.push(Value::Str(s));
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    let s = self.str_of(b)?;
                    self.stack.push(Value::Str(s));
                }
                b'U' => {
                    // SHORT_BINSTRING (Python 2 str): treated as text.
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    self.stack
                        .push(Value::Str(String::from_utf8_lossy(b).into_owned()));
                }
                b'T' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?;
                    self.stack
                        .push(Value::Str(String::from_utf8_lossy(b).into_owned()));
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b));
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b));
                }
                b'Q' => {
                    let id = self.pop()?;
                    self.stack.push(Value::PersId(Box::new(id)));
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    // `OrderedDict()` is the one constructor evaluated: its
                    // items follow as SETITEMS.
                    if callable.is_global("collections", "OrderedDict")
                        && args == Value::Tuple(vec![])
                    {
                        self.stack.push(Value::Dict(vec![]));
                        continue;
                    }
                    self.stack.push(Value::Reduce {
                        callable: Box::new(callable),
                        args: Box::new(args),
                    });
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.pop()?;
                    self.stack.push(Value::Build {
                        obj: Box::new(obj),
                        state: Box::new(state),
                    });
                }
                other => return self.err(format!("unsupported opcode 0x{other:02x}")),
            }
        }
    }

    fn pairs(&self, items: Vec<Value>) -> Result<Vec<(Value, Value)>, PickleError> {
        if items.len() % 2 != 0 {
            return self.err("odd number of dict items");
        }
        let mut out = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            out.push((k, v));
        }
        Ok(out)
    }
}

fn long_value(b: Vec<u8>) -> Value {
    if b.is_empty() {
        return Value::Int(0);
    }
    if b.len() <= 8 {
        let neg = b[b.len() - 1] & 0x80 != 0;
        let mut buf = if neg { [0xffu8; 8] } else { [0u8; 8] };
        buf[..b.len()].copy_from_slice(&b);
        Value::Int(i64::from_le_bytes(buf))
    } else {
        Value::BigInt(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_python_protocol2_samples() {
        // pickle.dumps({'a': (1, 300, -2, 70000), 'b': [None, True, 1.5]}, protocol=2)
        let bytes: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01(K\x01M,\x01J\xfe\xff\xff\xffJp\x11\x01\x00tq\x02X\x01\x00\x00\x00bq\x03]q\x04(N\x88G?\xf8\x00\x00\x00\x00\x00\x00eu.";
        let mut pos = 0;
        let v = load(bytes, &mut pos).unwrap();
        assert_eq!(pos, bytes.len());
        let expected = Value::Dict(vec![
            (
                Value::Str("a".into()),
                Value::Tuple(vec![
                    Value::Int(1),
                    Value::Int(300),
                    Value::Int(-2),
                    Value::Int(70000),
                ]),
            ),
            (
                Value::Str("b".into()),
                Value::List(vec![Value::None, Value::Bool(true), Value::Float(1.5)]),
            ),
        ]);
        assert_eq!(v, expected);
        // Every truncation is an error, never a panic.
        for cut in 0..bytes.len() {
            let mut p = 0;
            assert!(load(&bytes[..cut], &mut p).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn long1_decodes_signed_and_big() {
        assert_eq!(long_value(vec![0xff]), Value::Int(-1));
        assert_eq!(long_value(vec![0x00, 0x01]), Value::Int(256));
        assert!(matches!(long_value(vec![1; 10]), Value::BigInt(_)));
    }
}
