//! state: one `/states/all` response body → a typed [`Snapshot`].
//!
//! Algorithm: the body is parsed into `serde_json::Value` first (so a malformed or truncated body
//! is one error, with serde's line/column), then each state vector is checked index by index
//! against the OPENSKY.md table. 17- and 18-element vectors are accepted (the 18th is
//! `category`, present with `extended=1`); longer vectors have their extra elements ignored, shorter
//! ones are rejected. `states: null` (nothing in the box) is an empty snapshot.
//!
//! Invariants of a parsed [`StateVector`]: `icao24` is 6 lower-case hex digits; `callsign` is
//! trimmed and `None` when blank; every string fits its column in `schemas/` (lengths checked
//! here, so the database never truncates or rejects a value); floats are finite.
//!
//! Failure: any deviation (wrong type, missing field, bad length) rejects the *whole* response
//! with a [`ParseError`] naming the state index and field, because the poller never writes a
//! partial poll. Parsing never panics on any input.

use serde_json::Value;

/// One response of `GET /states/all`.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The API's `time` field: unix seconds the states are valid for.
    pub time: i64,
    /// The state vectors, in response order (empty for `states: null`).
    pub states: Vec<StateVector>,
}

/// One aircraft's state (OPENSKY.md, fields 0..17).
#[derive(Debug, Clone, PartialEq)]
pub struct StateVector {
    pub icao24: String,
    pub callsign: Option<String>,
    pub origin_country: String,
    pub time_position: Option<i64>,
    pub last_contact: i64,
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
    pub baro_altitude: Option<f64>,
    pub on_ground: bool,
    pub velocity: Option<f64>,
    pub true_track: Option<f64>,
    pub vertical_rate: Option<f64>,
    /// Receiver serials as a JSON array text (`[1,2]`), stored as such.
    pub sensors: Option<String>,
    pub geo_altitude: Option<f64>,
    pub squawk: Option<String>,
    pub spi: bool,
    pub position_source: u8,
    /// Only in 18-element vectors (`extended=1`).
    pub category: Option<u8>,
}

/// Why a response body was rejected.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("response is not valid JSON: {0}")]
    Json(String),
    #[error("response is not a JSON object with `time` and `states`: {0}")]
    Shape(&'static str),
    #[error("state {index} ({icao24}): field {field} (#{pos}): {problem}")]
    Field { index: usize, icao24: String, field: &'static str, pos: usize, problem: String },
}

/// Column length limits (must match `schemas/`).
pub const ORIGIN_COUNTRY_MAX: usize = 64;
pub const CALLSIGN_MAX: usize = 8;
pub const SQUAWK_MAX: usize = 8;
pub const SENSORS_MAX: usize = 1024;

/// The state-vector fields in the API's order; also the columns of `final.flights`.
pub const FIELDS: [&str; 18] = [
    "icao24",
    "callsign",
    "origin_country",
    "time_position",
    "last_contact",
    "longitude",
    "latitude",
    "baro_altitude",
    "on_ground",
    "velocity",
    "true_track",
    "vertical_rate",
    "sensors",
    "geo_altitude",
    "squawk",
    "spi",
    "position_source",
    "category",
];

/// Parse a response body.
pub fn parse(body: &[u8]) -> Result<Snapshot, ParseError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let obj = v.as_object().ok_or(ParseError::Shape("top level is not an object"))?;
    let time =
        obj.get("time").and_then(Value::as_i64).ok_or(ParseError::Shape("`time` is missing or not an integer"))?;
    let states = match obj.get("states") {
        None => return Err(ParseError::Shape("`states` is missing")),
        Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().enumerate().map(|(i, s)| state(i, s)).collect::<Result<_, _>>()?,
        Some(_) => return Err(ParseError::Shape("`states` is neither an array nor null")),
    };
    Ok(Snapshot { time, states })
}

struct Fields<'a> {
    index: usize,
    icao24: String,
    a: &'a [Value],
}

impl Fields<'_> {
    fn err(&self, pos: usize, problem: impl Into<String>) -> ParseError {
        ParseError::Field {
            index: self.index,
            icao24: self.icao24.clone(),
            field: FIELDS[pos],
            pos,
            problem: problem.into(),
        }
    }
    fn get(&self, pos: usize) -> &Value {
        self.a.get(pos).unwrap_or(&Value::Null)
    }
    fn required<T>(
        &self,
        pos: usize,
        f: impl Fn(&Self, usize) -> Result<Option<T>, ParseError>,
    ) -> Result<T, ParseError> {
        f(self, pos)?.ok_or_else(|| self.err(pos, "is null but must not be"))
    }
    fn string(&self, pos: usize, max: usize) -> Result<Option<String>, ParseError> {
        match self.get(pos) {
            Value::Null => Ok(None),
            Value::String(s) if s.chars().count() <= max => Ok(Some(s.clone())),
            Value::String(s) => Err(self.err(pos, format!("{} characters, at most {max} fit", s.chars().count()))),
            other => Err(self.err(pos, format!("expected a string, got {}", kind(other)))),
        }
    }
    fn int(&self, pos: usize) -> Result<Option<i64>, ParseError> {
        match self.get(pos) {
            Value::Null => Ok(None),
            Value::Number(n) => {
                n.as_i64().map(Some).ok_or_else(|| self.err(pos, format!("expected an integer, got {n}")))
            }
            other => Err(self.err(pos, format!("expected an integer, got {}", kind(other)))),
        }
    }
    fn small(&self, pos: usize) -> Result<Option<u8>, ParseError> {
        match self.int(pos)? {
            None => Ok(None),
            Some(n) => u8::try_from(n).map(Some).map_err(|_| self.err(pos, format!("{n} is out of range 0..=255"))),
        }
    }
    fn float(&self, pos: usize) -> Result<Option<f64>, ParseError> {
        match self.get(pos) {
            Value::Null => Ok(None),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.is_finite() => Ok(Some(f)),
                _ => Err(self.err(pos, format!("{n} is not a finite number"))),
            },
            other => Err(self.err(pos, format!("expected a number, got {}", kind(other)))),
        }
    }
    fn boolean(&self, pos: usize) -> Result<Option<bool>, ParseError> {
        match self.get(pos) {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            other => Err(self.err(pos, format!("expected true or false, got {}", kind(other)))),
        }
    }
    fn sensors(&self, pos: usize) -> Result<Option<String>, ParseError> {
        match self.get(pos) {
            Value::Null => Ok(None),
            Value::Array(items) => {
                if let Some(bad) = items.iter().find(|x| x.as_i64().is_none()) {
                    return Err(self.err(pos, format!("expected integers, got {}", kind(bad))));
                }
                let text = Value::Array(items.clone()).to_string();
                if text.len() > SENSORS_MAX {
                    return Err(self.err(pos, format!("{} characters as JSON, at most {SENSORS_MAX} fit", text.len())));
                }
                Ok(Some(text))
            }
            other => Err(self.err(pos, format!("expected an array of integers, got {}", kind(other)))),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn state(index: usize, v: &Value) -> Result<StateVector, ParseError> {
    let icao_hint = v.get(0).and_then(Value::as_str).unwrap_or("?").chars().take(16).collect();
    let a = v.as_array().ok_or_else(|| ParseError::Field {
        index,
        icao24: "?".into(),
        field: "state",
        pos: 0,
        problem: format!("expected an array, got {}", kind(v)),
    })?;
    let f = Fields { index, icao24: icao_hint, a };
    if a.len() < 17 {
        return Err(ParseError::Field {
            index,
            icao24: f.icao24.clone(),
            field: "state",
            pos: a.len(),
            problem: format!("{} elements, at least 17 expected", a.len()),
        });
    }
    let icao24 = f.required(0, |f, p| f.string(p, 6))?.to_ascii_lowercase();
    if icao24.len() != 6 || !icao24.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(f.err(0, format!("'{icao24}' is not 6 hex digits")));
    }
    // The callsign is 8 characters right-padded: trim first, then check the length.
    let callsign = match f.get(1) {
        Value::String(s) => {
            let t = s.trim();
            if t.chars().count() > CALLSIGN_MAX {
                return Err(f.err(1, format!("'{t}' is longer than {CALLSIGN_MAX} characters")));
            }
            (!t.is_empty()).then(|| t.to_string())
        }
        _ => f.string(1, CALLSIGN_MAX)?,
    };
    Ok(StateVector {
        icao24,
        callsign,
        origin_country: f.required(2, |f, p| f.string(p, ORIGIN_COUNTRY_MAX))?,
        time_position: f.int(3)?,
        last_contact: f.required(4, Fields::int)?,
        longitude: f.float(5)?,
        latitude: f.float(6)?,
        baro_altitude: f.float(7)?,
        on_ground: f.required(8, Fields::boolean)?,
        velocity: f.float(9)?,
        true_track: f.float(10)?,
        vertical_rate: f.float(11)?,
        sensors: f.sensors(12)?,
        geo_altitude: f.float(13)?,
        squawk: f.string(14, SQUAWK_MAX)?,
        spi: f.required(15, Fields::boolean)?,
        position_source: f.required(16, Fields::small)?,
        category: if a.len() > 17 { f.small(17)? } else { None },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A17: &str = r#"["4b1805","SWR123  ","Switzerland",1767225590,1767225595,8.5,47.4,3000.5,false,210.2,90.0,-5.5,null,3100.0,"1000",false,0]"#;

    #[test]
    fn parses_17_and_18_fields_and_null_states() {
        let s = parse(format!(r#"{{"time":1767225600,"states":[{A17}]}}"#).as_bytes()).unwrap();
        assert_eq!(s.time, 1767225600);
        let v = &s.states[0];
        assert_eq!(v.callsign.as_deref(), Some("SWR123"));
        assert_eq!(v.category, None);
        let a18 = A17.replace(",0]", ",0,3]");
        let s = parse(format!(r#"{{"time":1,"states":[{a18}]}}"#).as_bytes()).unwrap();
        assert_eq!(s.states[0].category, Some(3));
        assert_eq!(parse(br#"{"time":5,"states":null}"#).unwrap(), Snapshot { time: 5, states: vec![] });
    }

    #[test]
    fn rejects_with_reason() {
        let bad = A17.replace("false,210.2", "\"no\",210.2");
        let e = parse(format!(r#"{{"time":1,"states":[{bad}]}}"#).as_bytes()).unwrap_err();
        assert!(e.to_string().contains("on_ground"), "{e}");
        assert!(matches!(parse(br#"{"time":1,"states":[["#), Err(ParseError::Json(_))));
        assert!(matches!(parse(b"<html>"), Err(ParseError::Json(_))));
        assert!(matches!(parse(br#"{"states":null}"#), Err(ParseError::Shape(_))));
        let short = r#"{"time":1,"states":[["4b1805"]]}"#;
        assert!(parse(short.as_bytes()).unwrap_err().to_string().contains("at least 17"));
        let e = parse(br#"{"time":1,"states":[7]}"#).unwrap_err();
        assert!(e.to_string().contains("expected an array"));
    }

    #[test]
    fn never_panics_on_prefixes() {
        let body = format!(r#"{{"time":1767225600,"states":[{A17},{}]}}"#, A17.replace(",0]", ",0,3]"));
        for i in 0..body.len() {
            let _ = parse(&body.as_bytes()[..i]);
        }
    }
}
