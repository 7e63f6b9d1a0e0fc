//! The `.npy` header, shared by every `.npy` reader in ismc: the preamble
//! (magic string, format version, header length) and the Python dict literal
//! that gives the element type, the memory order and the shape.
//!
//! Readers check the header against the file's length before allocating the
//! array it describes, so a small file that claims a huge shape is refused.

/// The fields of a `.npy` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Header {
    /// The dtype string, e.g. `<f4` or `|b1`.
    pub descr: String,
    /// Whether the data is in column-major (Fortran) order.
    pub fortran_order: bool,
    /// The array's shape (empty for a scalar).
    pub shape: Vec<usize>,
}

/// Parses the Python dict literal of a `.npy` header, e.g.
/// `{'descr': '|b1', 'fortran_order': False, 'shape': (3, 4), }`.
pub fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    p.expect(b'{')?;
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.skip_ws();
        p.expect(b':')?;
        p.skip_ws();
        match key.as_str() {
            "descr" => {
                if p.peek() == Some(b'[') {
                    return Err(
                        "the array has a structured dtype; expected a plain bool or uint8 array"
                            .into(),
                    );
                }
                descr = Some(p.string()?);
            }
            "fortran_order" => fortran_order = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(format!("unexpected key '{other}'")),
        }
        p.skip_ws();
        if !p.eat(b',') {
            p.skip_ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_ws();
    if p.at != p.s.len() {
        return Err("unexpected text after the header dict".into());
    }
    let missing = |k: &str| format!("the header has no '{k}' key");
    Ok(Header {
        descr: descr.ok_or_else(|| missing("descr"))?,
        fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

/// The six bytes every `.npy` file starts with.
pub const MAGIC: &[u8] = b"\x93NUMPY";

/// Reads the preamble and header at the start of `bytes` (the whole file or
/// at least its header): the header and the offset where the data starts.
/// Errors are messages for the caller to wrap with the file's name.
pub fn read_header(bytes: &[u8]) -> std::result::Result<(Header, usize), String> {
    if !bytes.starts_with(MAGIC) {
        return Err("not a .npy file (no NumPy magic string)".into());
    }
    let (header_len, start): (usize, usize) = match bytes.get(6) {
        Some(1) if bytes.len() >= 10 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        Some(2 | 3) if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        Some(v @ (1..=3)) => return Err(format!("truncated .npy preamble (version {v})")),
        Some(v) => return Err(format!("unsupported .npy format version {v}")),
        None => return Err("truncated .npy preamble".into()),
    };
    let text = bytes
        .get(start..start.saturating_add(header_len))
        .ok_or("truncated .npy header")?;
    let text = std::str::from_utf8(text).map_err(|_| "the .npy header is not text")?;
    let header = parse_header(text).map_err(|why| format!("malformed .npy header: {why}"))?;
    Ok((header, start + header_len))
}

/// A cursor over the header text.
struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_whitespace() || c == 0)
        {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.at += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected '{}' at byte {} of the header",
                c as char, self.at
            ))
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let quote = self.peek().filter(|&c| c == b'\'' || c == b'"');
        let Some(quote) = quote else {
            return Err(format!(
                "expected a quoted string at byte {} of the header",
                self.at
            ));
        };
        let start = self.at + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == quote)
            .ok_or("unterminated string in the header")?;
        self.at = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }

    fn boolean(&mut self) -> std::result::Result<bool, String> {
        for (word, value) in [(&b"True"[..], true), (b"False", false)] {
            if self.s[self.at..].starts_with(word) {
                self.at += word.len();
                return Ok(value);
            }
        }
        Err("'fortran_order' is neither True nor False".into())
    }

    fn tuple(&mut self) -> std::result::Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(b')') {
                return Ok(items);
            }
            let start = self.at;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.at += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.at]).unwrap_or("");
            let value = digits.parse::<usize>().map_err(|_| {
                format!("expected a non-negative integer in 'shape' at byte {start} of the header")
            })?;
            items.push(value);
            // Python 2 writes longs as `3L`.
            self.eat(b'L');
            self.skip_ws();
            if !self.eat(b',') {
                self.skip_ws();
                self.expect(b')')?;
                return Ok(items);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_header_finds_the_data_offset_and_refuses_truncation() {
        let text = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n";
        let mut bytes = MAGIC.to_vec();
        bytes.extend([1, 0, text.len() as u8, 0]);
        bytes.extend(text.as_bytes());
        let (h, start) = read_header(&bytes).unwrap();
        assert_eq!((h.shape, start), (vec![3, 4], 10 + text.len()));
        assert!(read_header(&bytes[..20]).unwrap_err().contains("truncated"));
        assert!(read_header(b"PK\x03\x04").is_err());
    }

    #[test]
    fn header_parser_accepts_numpy_spellings() {
        let h = parse_header("{\"descr\": \"|b1\", \"fortran_order\": False, \"shape\": (3L, 4L)}")
            .unwrap();
        assert_eq!(h.shape, vec![3, 4]);
        let h = parse_header("{'descr':'<u1','fortran_order':True,'shape':(5,)}   \n").unwrap();
        assert_eq!(
            (h.descr.as_str(), h.fortran_order, h.shape),
            ("<u1", true, vec![5])
        );
    }
}
