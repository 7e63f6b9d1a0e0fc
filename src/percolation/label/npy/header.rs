//! The `.npy` header: the Python dict literal that gives the element type,
//! the memory order and the shape, and the element types a grid may have.

/// The element types a grid may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dtype {
    Bool,
    U8,
}

impl Dtype {
    pub(super) fn from_descr(descr: &str) -> std::result::Result<Self, String> {
        match descr.trim_start_matches(['|', '<', '>', '=']) {
            "b1" | "?" => Ok(Dtype::Bool),
            "u1" | "B" => Ok(Dtype::U8),
            _ => {
                let kind = match descr
                    .trim_start_matches(['|', '<', '>', '='])
                    .chars()
                    .next()
                {
                    Some('f' | 'e' | 'd' | 'g') => "floating-point",
                    Some('i' | 'b' | 'h' | 'l' | 'q') => "signed integer",
                    Some('u' | 'H' | 'I' | 'L' | 'Q') => "wide unsigned integer",
                    Some('c' | 'F' | 'D' | 'G') => "complex",
                    Some('U' | 'S' | 'a') => "string",
                    Some('O') => "Python object",
                    Some('M' | 'm') => "date/time",
                    _ => "unsupported",
                };
                Err(format!(
                    "the array has dtype '{descr}' ({kind}); convert it first, e.g. np.save(path, grid.astype(bool))"
                ))
            }
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Dtype::Bool => "bool",
            Dtype::U8 => "uint8",
        }
    }
}

/// The fields of a `.npy` header.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) descr: String,
    pub(super) fortran_order: bool,
    pub(super) shape: Vec<usize>,
}

/// Parses the Python dict literal of a `.npy` header, e.g.
/// `{'descr': '|b1', 'fortran_order': False, 'shape': (3, 4), }`.
pub(super) fn parse_header(text: &str) -> std::result::Result<Header, String> {
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
