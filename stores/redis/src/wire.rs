//! What both stores send and how they read the answers: the two Lua scripts,
//! the arguments they take, and the mapping of replies and errors onto the
//! fleet's answers. The blocking and the async store differ only in how
//! they reach the server.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use redis::{Client, ErrorKind, IntoConnectionInfo, RedisError, Script, ScriptInvocation, Value};
use tokendance::fleet::{StoreAnswer, StoreError, StoreOp, StoreOpKind, MAX_RECORD_BYTES};

/// Reads one record. Redis runs a script alone, so the type check, the
/// size check and the read see one state of the key; the size check runs
/// first so an oversized value is never sent to us at all.
const READ_LUA: &str = r"
-- KEYS[1]: the record's key. ARGV[1]: the largest record to send back.
-- Replies {'none'}, {'found', version, record} or {'corrupt', why}: a key
-- that holds anything but this store's hash is reported, never read as one.
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then
  return {'none'}
end
if kind ~= 'hash' then
  return {'corrupt', 'the key holds a ' .. kind .. ', not a hash'}
end
local version = redis.call('HGET', KEYS[1], 'version')
if not version then
  return {'corrupt', 'the hash has no version field'}
end
local size = redis.call('HSTRLEN', KEYS[1], 'record')
if size > tonumber(ARGV[1]) then
  return {'corrupt', 'the record field has ' .. size .. ' bytes, over the limit'}
end
local record = redis.call('HGET', KEYS[1], 'record')
if not record then
  return {'corrupt', 'the hash has no record field'}
end
return {'found', version, record}
";

/// Compare-and-set on the version. The whole check-then-write is one
/// script, which Redis runs without interleaving any other command: two
/// swaps from one version can never both see it.
const SWAP_LUA: &str = r"
-- KEYS[1]: the record's key. ARGV[1]: the version the writer read ('' when
-- it read no record), ARGV[2]: the version to write, ARGV[3]: the record.
-- Replies {'swapped'}, {'conflict'} or {'corrupt', why}.
local kind = redis.call('TYPE', KEYS[1])['ok']
local current = ''
if kind == 'hash' then
  current = redis.call('HGET', KEYS[1], 'version')
  if not current or current == '' then
    return {'corrupt', 'the hash has no version field'}
  end
elseif kind ~= 'none' then
  return {'corrupt', 'the key holds a ' .. kind .. ', not a hash'}
end
if current ~= ARGV[1] then
  return {'conflict'}
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'record', ARGV[3])
return {'swapped'}
";

static READ: LazyLock<Script> = LazyLock::new(|| Script::new(READ_LUA));
static SWAP: LazyLock<Script> = LazyLock::new(|| Script::new(SWAP_LUA));

/// The script call that carries out `op` on the key `namespace + op.key()`.
/// Keys and values travel only as `KEYS[]` and `ARGV[]`: nothing of them is
/// ever part of the Lua source, so no key or record can change what runs.
pub(crate) fn invocation(namespace: &str, op: &StoreOp) -> ScriptInvocation<'static> {
    let key = format!("{namespace}{}", op.key());
    match op.kind() {
        StoreOpKind::Read => {
            let mut call = READ.prepare_invoke();
            call.key(key).arg(MAX_RECORD_BYTES);
            call
        }
        StoreOpKind::Swap {
            expected,
            version,
            bytes,
        } => {
            let mut call = SWAP.prepare_invoke();
            // Versions travel in canonical decimal, so the script can compare
            // them as strings.
            let expected = expected.map(|v| v.to_string()).unwrap_or_default();
            call.key(key)
                .arg(expected)
                .arg(version.to_string())
                .arg(bytes.as_slice());
            call
        }
    }
}

/// What the script's reply means for `op`.
pub(crate) fn answer(op: &StoreOp, reply: Value) -> Result<StoreAnswer, StoreError> {
    let unexpected = || StoreError::Corrupt("redis sent a reply this store's scripts never send".to_owned());
    let Value::Array(items) = reply else {
        return Err(unexpected());
    };
    let mut items = items.into_iter();
    let tag = match items.next() {
        Some(Value::BulkString(tag)) => tag,
        _ => return Err(unexpected()),
    };
    match (op.kind(), tag.as_slice()) {
        (_, b"corrupt") => match items.next() {
            // The reason is built by the script from fixed text, a type name
            // and a size: never from the stored bytes.
            Some(Value::BulkString(why)) => {
                Err(StoreError::Corrupt(String::from_utf8_lossy(&why).into_owned()))
            }
            _ => Err(unexpected()),
        },
        (StoreOpKind::Read, b"none") => Ok(StoreAnswer::Found(None)),
        (StoreOpKind::Read, b"found") => {
            let (Some(Value::BulkString(version)), Some(Value::BulkString(record))) =
                (items.next(), items.next())
            else {
                return Err(unexpected());
            };
            check_version(&version)?;
            // The script refused larger records already; this holds even
            // against a server that did not run it as written.
            if record.len() > MAX_RECORD_BYTES {
                return Err(StoreError::Corrupt(format!(
                    "the record has {} bytes, over the limit",
                    record.len()
                )));
            }
            Ok(StoreAnswer::Found(Some(record)))
        }
        (StoreOpKind::Swap { .. }, b"swapped") => Ok(StoreAnswer::Swapped),
        (StoreOpKind::Swap { .. }, b"conflict") => Ok(StoreAnswer::Conflict),
        _ => Err(unexpected()),
    }
}

/// A version field this store wrote is a u64 in canonical decimal: the swap
/// script compares it as a string, so any other spelling ("07", "+7") would
/// make every swap conflict forever. Say so instead.
fn check_version(version: &[u8]) -> Result<u64, StoreError> {
    let refuse = || StoreError::Corrupt("the version field is not a version this store writes".to_owned());
    let text = std::str::from_utf8(version).map_err(|_| refuse())?;
    let value: u64 = text.parse().map_err(|_| refuse())?;
    if value.to_string() != text {
        return Err(refuse());
    }
    Ok(value)
}

/// The server a store talks to, with what errors and `Debug` may say of it.
pub(crate) struct Target {
    pub(crate) client: Client,
    pub(crate) namespace: String,
    pub(crate) timeout: Duration,
    /// How many replies connecting waits for (AUTH or HELLO, SELECT).
    pub(crate) handshake_replies: u32,
    /// `host:port` (or the socket's path) and the database: what a log may show.
    place: String,
    /// Only to blank it out of error texts, should one ever hold it.
    password: Option<String>,
}

impl Target {
    pub(crate) fn new(url: &str, namespace: &str, timeout: Duration) -> Result<Self, StoreError> {
        // redis's URL errors are fixed texts ("Redis URL did not parse"):
        // they never quote the URL, which may hold a password.
        let refuse = |e: RedisError| StoreError::Unavailable(format!("the Redis URL is not usable: {e}"));
        let info = url.into_connection_info().map_err(refuse)?;
        let settings = info.redis_settings().clone();
        let place = format!("{}/{}", info.addr(), settings.db());
        let password = settings.password().map(str::to_owned);
        // The blocking handshake reads each reply with the whole timeout
        // again, so every reply it waits for costs one share of the budget.
        // CLIENT SETINFO (the library's name, for the server's CLIENT LIST)
        // would be two more: leave it out.
        let handshake_replies = u32::from(password.is_some() || settings.protocol().supports_resp3())
            + u32::from(settings.db() != 0);
        let client =
            Client::open(info.set_redis_settings(settings.set_skip_set_lib_name())).map_err(refuse)?;
        Ok(Target {
            client,
            handshake_replies,
            namespace: namespace.to_owned(),
            // A zero socket timeout is refused by the OS (and would mean
            // "never" to some APIs): the shortest bound is 1 ms.
            timeout: timeout.max(Duration::from_millis(1)),
            place,
            password,
        })
    }

    /// The fleet's error for a failure of redis's client or server.
    pub(crate) fn error(&self, err: &RedisError) -> StoreError {
        if err.is_timeout() {
            return StoreError::Timeout;
        }
        let mut text = err.to_string();
        if let Some(password) = self.password.as_deref().filter(|p| !p.is_empty()) {
            text = text.replace(password, "<redacted>");
        }
        let what = match err.kind() {
            ErrorKind::Io => "cannot reach redis",
            ErrorKind::AuthenticationFailed => "redis refused the credentials",
            _ => "redis failed",
        };
        StoreError::Unavailable(format!("{what} at {}: {text}", self.place))
    }

    pub(crate) fn timed_out() -> RedisError {
        RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL nor the client: either may carry the password.
        f.debug_struct("Target")
            .field("at", &self.place)
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_canonical_decimal() {
        assert_eq!(check_version(b"7").ok(), Some(7));
        assert_eq!(check_version(b"18446744073709551615").ok(), Some(u64::MAX));
        for bad in [
            &b"07"[..],
            b"+7",
            b"",
            b"-1",
            b"7 ",
            b"18446744073709551616",
            b"\xff",
        ] {
            assert!(check_version(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn odd_replies_are_corrupt_not_panics() {
        let read = StoreOp::read(1, "k");
        let bulk = |b: &[u8]| Value::BulkString(b.to_vec());
        for reply in [
            Value::Nil,
            Value::Int(1),
            Value::Array(vec![]),
            Value::Array(vec![bulk(b"found"), bulk(b"1")]),
            Value::Array(vec![bulk(b"found"), bulk(b"x"), bulk(b"{}")]),
            Value::Array(vec![bulk(b"swapped")]),
            Value::Array(vec![
                bulk(b"found"),
                bulk(b"1"),
                bulk(&vec![b'a'; MAX_RECORD_BYTES + 1]),
            ]),
        ] {
            assert!(matches!(answer(&read, reply), Err(StoreError::Corrupt(_))));
        }
        let found = Value::Array(vec![bulk(b"found"), bulk(b"3"), bulk(b"{}")]);
        assert_eq!(answer(&read, found), Ok(StoreAnswer::Found(Some(b"{}".to_vec()))));
    }

    #[test]
    fn errors_never_show_the_password() {
        let target = Target::new("redis://user:hunter2@127.0.0.1:1/3", "ns:", Duration::ZERO).unwrap();
        assert_eq!(target.timeout, Duration::from_millis(1));
        let shown = format!("{target:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("127.0.0.1:1/3"),
            "{shown}"
        );
        let err = RedisError::from(std::io::Error::other("said hunter2"));
        let StoreError::Unavailable(text) = target.error(&err) else {
            panic!()
        };
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(target.error(&Target::timed_out()), StoreError::Timeout);
    }
}
