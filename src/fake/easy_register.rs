//! The ITC Easy Register service (business calls), served by [`Keycloak`](super::Keycloak).

use std::collections::HashMap;
use std::fmt;

use http::header::{HeaderValue, ALLOW, WWW_AUTHENTICATE};
use http::{Method, StatusCode};
use serde_json::{Map, Value};

use super::{json, respond};

/// The guide's public test citizen (`regNo`), known to [`EasyRegister::itc_staging`].
pub const ITC_TEST_REG_NO: &str = "AA12345678";
/// The test citizen's 11-character ebarimt login (`loginName`), which is also
/// their customer number (`customerNo`) for getProfile and approveQr.
pub const ITC_TEST_LOGIN_NAME: &str = "12345678901";
/// The test citizen's phone number (getProfile's `phoneNum`).
pub const ITC_TEST_PHONE: &str = "99112233";
/// The test citizen's e-mail address.
pub const ITC_TEST_EMAIL: &str = "bat.dorj@example.mn";
/// A second citizen of [`EasyRegister::itc_staging`], whose registry number
/// is written in Cyrillic (as Mongolian registry numbers are): it travels
/// percent-encoded in the path.
pub const ITC_CYRILLIC_REG_NO: &str = "УБ90010112";
/// The QR data of a citizen's (B2C) receipt that approveQr accepts once.
/// Any other string of 20 to 1000 ASCII digits not starting with
/// [`ITC_B2B_QR_PREFIX`] is a valid receipt too.
pub const ITC_DEMO_QR_DATA: &str = "202601010000038000000000000000000123456789";
/// QR data starting with these digits is the fake's business-to-business
/// receipt (issued to a company): approveQr answers `b2bNotAccepted`. The
/// guide lists the code but not how the service tells such receipts apart:
/// this marker is the fake's own.
pub const ITC_B2B_QR_PREFIX: &str = "999";

/// A citizen the fake [`EasyRegister`] knows.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Citizen {
    /// Registry number (`regNo`), as the consumer lookup matches it (exactly).
    pub reg_no: String,
    /// The 11-character ebarimt login (`loginName`), also the customer number.
    pub login_name: String,
    /// Given name (`givenName`).
    pub given_name: String,
    /// Family name (`familyName`).
    pub family_name: String,
    /// Phone number (getProfile's `phoneNum`), if registered.
    pub phone: Option<String>,
    /// E-mail address; without one getProfile answers `emailNotFound`.
    pub email: Option<String>,
}

impl Citizen {
    /// A citizen without phone or e-mail (set the fields to add them).
    ///
    /// ```
    /// use tokendance::fake::Citizen;
    /// let mut citizen = Citizen::new("AB87654321", "10987654321", "Saraa", "Bold");
    /// citizen.phone = Some("88001122".into());
    /// assert_eq!(citizen.email, None);
    /// ```
    pub fn new(reg_no: &str, login_name: &str, given_name: &str, family_name: &str) -> Self {
        Citizen {
            reg_no: reg_no.to_owned(),
            login_name: login_name.to_owned(),
            given_name: given_name.to_owned(),
            family_name: family_name.to_owned(),
            phone: None,
            email: None,
        }
    }
}

/// What the fake Easy Register service answered, for tests to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceCounts {
    /// Calls with a valid token of a user with the service right, answered
    /// by the service (200, 404, 405).
    pub answered: u64,
    /// Calls refused because the token was missing, unknown, expired or
    /// revoked: HTTP 401, or HTTP 200 `invalidToken` when
    /// [`EasyRegister::invalid_token_in_body`] is set.
    pub unauthorized: u64,
    /// Calls with a valid token of a user without the service right (HTTP 403).
    pub forbidden: u64,
}

/// The fake Easy Register service: the business calls of the ITC guide, as
/// the [`Keycloak`](super::Keycloak) fake serves them next to its token
/// endpoint (its `service` field).
///
/// Every call first has its `Authorization: Bearer {token}` checked against
/// the access tokens the realm issued: a missing, unknown, expired or revoked
/// token gets **401** with `WWW-Authenticate: Bearer error="invalid_token"`
/// and an empty body; a valid token of a user marked with
/// [`Keycloak::deny_service`](super::Keycloak::deny_service) gets **403**
/// (`WWW-Authenticate: Bearer error="insufficient_scope"`, empty body).
/// Then, for paths ending as below:
///
/// | request | answer |
/// |---|---|
/// | `GET …/api/info/consumer/{regNo}` (percent-decoded) | 200 `{regNo, loginName, givenName, familyName}`, or 404 with an empty body |
/// | `POST …/rest/v1/getProfile`, JSON with one of `phoneNum`, `customerNo` | HTTP 200 and `{code, status, msg, loginName, email}`, see below |
/// | `POST …/rest/v1/approveQr`, JSON with `customerNo`, `qrData` | HTTP 200 and `{code, status, msg, loginName, email}`, see below |
/// | another method | 405 with `Allow` |
///
/// getProfile, in order: a body that is not a JSON object, both fields, a
/// field that is not a string or number, or a phone that is not 8 digits →
/// `invalidData` (201); neither field (or only empty ones) → `emptyField`
/// (100); nobody with that phone or customer number → `userNotFound` (201);
/// a phone shared by two citizens → `userDuplicate` (500); no e-mail →
/// `emailNotFound` (201, with `loginName`); otherwise `success` (200, with
/// `loginName` and `email`).
///
/// approveQr, in order: not a JSON object or a field not a string or number
/// → `invalidData` (201); a field missing or empty → `emptyField` (100); an
/// unknown customer → `userNotFound` (201); QR data that is not 20 to 1000
/// ASCII digits → `inValidQr` (201); QR data starting with
/// [`ITC_B2B_QR_PREFIX`] → `b2bNotAccepted` (201); QR data approved before
/// (by anyone) → `alreadyApproved` (201); otherwise `success` (200): the
/// receipt is now approved.
///
/// `msg` is the guide's Mongolian text where it prints one (the fake's own
/// for `alreadyApproved`, `b2bNotAccepted` and `inValidQr`).
///
/// ```
/// use tokendance::fake::{self, Fake, Keycloak};
/// use tokendance::{drive, itc, Endpoint, Flow, Password, Timestamp};
///
/// fn run<F: Flow>(realm: &mut Keycloak, now: Timestamp, flow: F) -> F::Output {
///     drive::drive(flow, || now,
///         |req| Ok::<_, std::convert::Infallible>(realm.handle(now, &req)),
///         drive::no_signer, |_| {}).unwrap()
/// }
///
/// let mut realm = Keycloak::itc_staging(); // the guide's account and test citizen
/// let config = itc::Config::new(
///     Endpoint::parse("https://realm.test/auth/realms/Staging")?,
///     Endpoint::parse("https://service.test/api/easy-register/")?,
/// );
/// let mut session = itc::session(&config, "easy-register-test", Password::new("Test@123"))?;
/// let now = Timestamp::from_unix_secs(1_000);
/// let found = run(&mut realm, now, itc::consumer(&config, fake::ITC_TEST_REG_NO, &mut session)?);
/// assert_eq!(found.unwrap().login_name, fake::ITC_TEST_LOGIN_NAME);
/// let missing = run(&mut realm, now, itc::consumer(&config, "ZZ00000000", &mut session)?);
/// assert_eq!(missing, None);
///
/// // Every access token revoked: 401, one refresh grant, the call re-issued once.
/// realm.expire_access_tokens();
/// let now = Timestamp::from_unix_secs(1_010); // past the session's 1 s spacing of token requests
/// let mut call = itc::consumer(&config, fake::ITC_CYRILLIC_REG_NO, &mut session)?;
/// assert!(run(&mut realm, now, &mut call).is_some());
/// assert!(call.retried());
/// assert_eq!((realm.grants().password, realm.grants().refresh), (1, 1));
/// let counts = realm.service.counts();
/// assert_eq!((counts.answered, counts.unauthorized), (3, 1));
/// # Ok::<(), tokendance::Error>(())
/// ```
pub struct EasyRegister {
    citizens: Vec<Citizen>,
    /// Approved QR data, with the customer number it was approved for.
    approved: HashMap<String, String>,
    counts: ServiceCounts,
    /// Answer a refused token on getProfile and approveQr with HTTP 200 and
    /// `{"code":"invalidToken","status":401,…}` (the guide lists this code)
    /// instead of HTTP 401. The consumer lookup always answers 401.
    pub invalid_token_in_body: bool,
}

/// A service call, recognised by the end of its path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Route<'a> {
    /// `…/api/info/consumer/{regNo}`, the segment still percent-encoded.
    Consumer(&'a str),
    /// `…/rest/v1/getProfile`.
    GetProfile,
    /// `…/rest/v1/approveQr`.
    ApproveQr,
}

impl<'a> Route<'a> {
    /// The service call `path` names, if any.
    pub(super) fn of(path: &'a str) -> Option<Self> {
        let mut tail = path.rsplit('/');
        let last = tail.next()?;
        let (a, b, c) = (tail.next(), tail.next(), tail.next());
        match (c, b, a, last) {
            (Some("api"), Some("info"), Some("consumer"), reg_no) => Some(Route::Consumer(reg_no)),
            (_, Some("rest"), Some("v1"), "getProfile") => Some(Route::GetProfile),
            (_, Some("rest"), Some("v1"), "approveQr") => Some(Route::ApproveQr),
            _ => None,
        }
    }
}

/// A getProfile / approveQr answer code with its body `status` and `msg`.
#[derive(Clone, Copy)]
enum Code {
    Success,
    UserNotFound,
    InvalidToken,
    EmptyField,
    EmailNotFound,
    InvalidData,
    UserDuplicate,
    AlreadyApproved,
    B2bNotAccepted,
    InvalidQr,
}

impl Code {
    fn parts(self) -> (&'static str, u16, &'static str) {
        match self {
            Code::Success => ("success", 200, "Амжилттай"),
            Code::UserNotFound => ("userNotFound", 201, "Хэрэглэгч олдсонгүй"),
            Code::InvalidToken => ("invalidToken", 401, "Токен буруу байна"),
            Code::EmptyField => ("emptyField", 100, "Талбар хоосон байна"),
            Code::EmailNotFound => ("emailNotFound", 201, "Имэйл олдсонгүй"),
            Code::InvalidData => ("invalidData", 201, "Мэдээлэл алдаатай байна"),
            Code::UserDuplicate => ("userDuplicate", 500, "Хэрэглэгчийн бүртгэл давхардсан байна"),
            Code::AlreadyApproved => ("alreadyApproved", 201, "Баримт баталгаажсан байна"),
            Code::B2bNotAccepted => (
                "b2bNotAccepted",
                201,
                "Байгууллагын баримтыг иргэнд баталгаажуулах боломжгүй",
            ),
            Code::InvalidQr => ("inValidQr", 201, "QR мэдээлэл буруу байна"),
        }
    }
}

/// The guide's reply body, with the customer's login and e-mail when known.
fn reply(code: Code, citizen: Option<&Citizen>) -> http::Response<Vec<u8>> {
    let (code, status, msg) = code.parts();
    let mut body = serde_json::json!({ "code": code, "status": status, "msg": msg });
    if let Some(citizen) = citizen {
        body["loginName"] = citizen.login_name.clone().into();
        if let Some(email) = &citizen.email {
            body["email"] = email.clone().into();
        }
    }
    json(StatusCode::OK, &body)
}

/// A JSON field as text: absent, `null` and blank count as missing; a
/// string or a number is its text; anything else is invalid.
fn text_field(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ()> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(()),
    }
}

/// Decodes `%XX` escapes; `None` if an escape is broken or the result is not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A response with no body and no content type.
fn empty(status: StatusCode) -> http::Response<Vec<u8>> {
    respond(status, "", Vec::new())
}

impl EasyRegister {
    /// A service that knows no citizen.
    pub fn new() -> Self {
        EasyRegister {
            citizens: Vec::new(),
            approved: HashMap::new(),
            counts: ServiceCounts::default(),
            invalid_token_in_body: false,
        }
    }

    /// The staging service's test data: the guide's citizen
    /// [`ITC_TEST_REG_NO`] (login [`ITC_TEST_LOGIN_NAME`], phone
    /// [`ITC_TEST_PHONE`], e-mail [`ITC_TEST_EMAIL`]); [`ITC_CYRILLIC_REG_NO`]
    /// (login `10987654321`, phone `88112233`, no e-mail); and two citizens
    /// sharing the phone `95000000` (logins `20000000001`, `20000000002`).
    pub fn itc_staging() -> Self {
        let mut service = EasyRegister::new();
        let mut test = Citizen::new(ITC_TEST_REG_NO, ITC_TEST_LOGIN_NAME, "Бат", "Дорж");
        test.phone = Some(ITC_TEST_PHONE.to_owned());
        test.email = Some(ITC_TEST_EMAIL.to_owned());
        service.add_citizen(test);
        let mut cyrillic = Citizen::new(ITC_CYRILLIC_REG_NO, "10987654321", "Сараа", "Болд");
        cyrillic.phone = Some("88112233".to_owned());
        service.add_citizen(cyrillic);
        for (reg_no, login, email) in [
            ("AB11111111", "20000000001", "first@example.mn"),
            ("AB22222222", "20000000002", "second@example.mn"),
        ] {
            let mut twin = Citizen::new(reg_no, login, "Ихэр", "Дорж");
            twin.phone = Some("95000000".to_owned());
            twin.email = Some(email.to_owned());
            service.add_citizen(twin);
        }
        service
    }

    /// Adds a citizen (a second one with the same `reg_no` is never found
    /// by the consumer lookup: the first wins).
    pub fn add_citizen(&mut self, citizen: Citizen) {
        self.citizens.push(citizen);
    }

    /// Whether approveQr has approved `qr_data`.
    pub fn is_approved(&self, qr_data: &str) -> bool {
        self.approved.contains_key(qr_data)
    }

    /// What the service answered so far.
    pub fn counts(&self) -> ServiceCounts {
        self.counts
    }

    /// The refusal of a call without a valid token.
    pub(super) fn unauthorized(&mut self, route: Route<'_>) -> http::Response<Vec<u8>> {
        self.counts.unauthorized += 1;
        if self.invalid_token_in_body && !matches!(route, Route::Consumer(_)) {
            return reply(Code::InvalidToken, None);
        }
        let mut response = empty(StatusCode::UNAUTHORIZED);
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer error="invalid_token""#),
        );
        response
    }

    /// The refusal of a call by a user without the service right.
    pub(super) fn forbidden(&mut self) -> http::Response<Vec<u8>> {
        self.counts.forbidden += 1;
        let mut response = empty(StatusCode::FORBIDDEN);
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer error="insufficient_scope""#),
        );
        response
    }

    /// Answers an authorised call.
    pub(super) fn serve(
        &mut self,
        route: Route<'_>,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Vec<u8>> {
        self.counts.answered += 1;
        let method = match route {
            Route::Consumer(_) => Method::GET,
            Route::GetProfile | Route::ApproveQr => Method::POST,
        };
        if request.method() != method {
            let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
            let allow = HeaderValue::from_static(if method == Method::GET { "GET" } else { "POST" });
            response.headers_mut().insert(ALLOW, allow);
            return response;
        }
        match route {
            Route::Consumer(reg_no) => self.consumer(reg_no),
            Route::GetProfile => self.get_profile(request.body()),
            Route::ApproveQr => self.approve_qr(request.body()),
        }
    }

    fn consumer(&self, reg_no: &str) -> http::Response<Vec<u8>> {
        let found =
            percent_decode(reg_no).and_then(|reg_no| self.citizens.iter().find(|c| c.reg_no == reg_no));
        match found {
            Some(c) => json(
                StatusCode::OK,
                &serde_json::json!({
                    "regNo": c.reg_no,
                    "loginName": c.login_name,
                    "givenName": c.given_name,
                    "familyName": c.family_name,
                }),
            ),
            None => empty(StatusCode::NOT_FOUND),
        }
    }

    fn get_profile(&self, body: &[u8]) -> http::Response<Vec<u8>> {
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
            return reply(Code::InvalidData, None);
        };
        let (Ok(phone), Ok(customer_no)) = (text_field(&body, "phoneNum"), text_field(&body, "customerNo"))
        else {
            return reply(Code::InvalidData, None);
        };
        let matches: Vec<&Citizen> = match (phone, customer_no) {
            (None, None) => return reply(Code::EmptyField, None),
            (Some(_), Some(_)) => return reply(Code::InvalidData, None),
            (Some(phone), None) => {
                if phone.len() != 8 || !phone.bytes().all(|b| b.is_ascii_digit()) {
                    return reply(Code::InvalidData, None);
                }
                self.citizens
                    .iter()
                    .filter(|c| c.phone.as_deref() == Some(phone.as_str()))
                    .collect()
            }
            (None, Some(customer_no)) => self
                .citizens
                .iter()
                .filter(|c| c.login_name == customer_no)
                .take(1)
                .collect(),
        };
        match matches.as_slice() {
            [] => reply(Code::UserNotFound, None),
            [one] if one.email.is_none() => reply(Code::EmailNotFound, Some(one)),
            [one] => reply(Code::Success, Some(one)),
            _ => reply(Code::UserDuplicate, None),
        }
    }

    fn approve_qr(&mut self, body: &[u8]) -> http::Response<Vec<u8>> {
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
            return reply(Code::InvalidData, None);
        };
        let (Ok(customer_no), Ok(qr_data)) = (text_field(&body, "customerNo"), text_field(&body, "qrData"))
        else {
            return reply(Code::InvalidData, None);
        };
        let (Some(customer_no), Some(qr_data)) = (customer_no, qr_data) else {
            return reply(Code::EmptyField, None);
        };
        let Some(citizen) = self.citizens.iter().find(|c| c.login_name == customer_no) else {
            return reply(Code::UserNotFound, None);
        };
        if !(20..=1000).contains(&qr_data.len()) || !qr_data.bytes().all(|b| b.is_ascii_digit()) {
            return reply(Code::InvalidQr, Some(citizen));
        }
        if qr_data.starts_with(ITC_B2B_QR_PREFIX) {
            return reply(Code::B2bNotAccepted, Some(citizen));
        }
        if self.approved.contains_key(&qr_data) {
            return reply(Code::AlreadyApproved, Some(citizen));
        }
        let response = reply(Code::Success, Some(citizen));
        self.approved.insert(qr_data, customer_no);
        response
    }
}

impl Default for EasyRegister {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EasyRegister {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EasyRegister")
            .field("citizens", &self.citizens.len())
            .field("approved", &self.approved.len())
            .field("counts", &self.counts)
            .field("invalid_token_in_body", &self.invalid_token_in_body)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_the_end_of_the_path() {
        assert_eq!(
            Route::of("/itc/api/easy-register/api/info/consumer/AA12345678"),
            Some(Route::Consumer("AA12345678"))
        );
        assert_eq!(Route::of("/api/info/consumer/"), Some(Route::Consumer("")));
        assert_eq!(Route::of("/x/rest/v1/getProfile"), Some(Route::GetProfile));
        assert_eq!(Route::of("rest/v1/approveQr"), Some(Route::ApproveQr));
        assert_eq!(Route::of("/x/rest/v2/approveQr"), None);
        assert_eq!(Route::of("/info/consumer/AA12345678"), None);
        assert_eq!(Route::of(""), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("%D0%A3%D0%9190010112").as_deref(),
            Some(ITC_CYRILLIC_REG_NO)
        );
        assert_eq!(percent_decode("AA12345678").as_deref(), Some("AA12345678"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%+F"), None);
        assert_eq!(percent_decode("%FF"), None);
        assert_eq!(percent_decode("%D0"), None);
    }
}
