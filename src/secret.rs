//! Secret newtypes.
//!
//! Every secret the crate touches (passwords, client secrets, tokens, refresh
//! tokens, authorization codes, registration keys) is one of these types. Their
//! `Debug` prints `Name(<redacted>)`; they have no `Display`, `Serialize` or
//! `Deserialize`, so a secret reaches a log or a file only when the caller
//! reads it through the explicitly named [`expose_secret`](Password::expose_secret).

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The secret itself.
            ///
            /// # Security warning
            /// Whatever you do with the returned string is outside the
            /// crate's redaction: do not log it, do not put it in an error.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

            /// The secret, moved out (for the crate's own scrub lists).
            // Not every secret type is moved out somewhere.
            #[allow(dead_code)]
            pub(crate) fn into_exposed(self) -> String {
                self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_string!(
    /// A user's password (ITC Easy Register, Astana-plat, MDLP non-residents).
    ///
    /// ```
    /// let p = tokendance::Password::new("Test@123");
    /// assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    /// assert_eq!(p.expose_secret(), "Test@123");
    /// ```
    Password
);
secret_string!(
    /// An OAuth2 client secret (GAM, MonPay, MDLP).
    ClientSecret
);
secret_string!(
    /// A bearer or client token issued by a provider.
    AccessToken
);
secret_string!(
    /// A refresh token (Keycloak).
    RefreshToken
);
secret_string!(
    /// A one-time OAuth2 authorization code (MonPay).
    AuthCode
);
secret_string!(
    /// An integration solution's registration key (CRPT SUZ `X-RegistrationKey`).
    RegistrationKey
);
