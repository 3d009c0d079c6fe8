//! Token stores for tests and the bench: [`MemoryStore`] holds the envelope in memory,
//! [`CountingStore`] counts the reads of any other store (each one an SSM `GetParameter`),
//! and [`read_parameter`] shows what SSM itself holds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::envelope::TokenEnvelope;
use crate::store::{StoreError, TokenStore};

/// The parameter name a [`MemoryStore`] reports in audit events and errors.
pub const MEMORY_PARAMETER_NAME: &str = "/orange-token-test/oauth/access-token";

/// A store in memory: reads answer what was last saved, after an optional latency, or fail
/// as SSM does when KMS refuses to decrypt. Counts its reads.
#[derive(Debug, Default)]
pub struct MemoryStore {
    envelope: Mutex<Option<TokenEnvelope>>,
    read_latency: Duration,
    unreadable: bool,
    loads: AtomicUsize,
}

impl MemoryStore {
    pub fn new(envelope: Option<TokenEnvelope>) -> Self {
        Self {
            envelope: Mutex::new(envelope),
            ..Self::default()
        }
    }

    /// A store whose every read fails (`AccessDeniedException` from KMS).
    pub fn unreadable() -> Self {
        Self {
            unreadable: true,
            ..Self::default()
        }
    }

    /// Every read waits `latency` first (Tokio's clock), as a round trip to SSM would.
    pub fn with_read_latency(mut self, latency: Duration) -> Self {
        self.read_latency = latency;
        self
    }

    /// How many reads were asked for, failed ones included.
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    /// What the store holds now.
    pub fn stored(&self) -> Option<TokenEnvelope> {
        self.envelope
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl TokenStore for MemoryStore {
    async fn load(&self) -> Result<Option<TokenEnvelope>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if !self.read_latency.is_zero() {
            tokio::time::sleep(self.read_latency).await;
        }
        if self.unreadable {
            return Err(StoreError {
                operation: "read",
                parameter_name: MEMORY_PARAMETER_NAME.to_owned(),
                reason: "AccessDeniedException".to_owned(),
            });
        }
        Ok(self.stored())
    }

    async fn save(&self, envelope: &TokenEnvelope) -> Result<i64, StoreError> {
        *self.envelope.lock().unwrap_or_else(PoisonError::into_inner) = Some(envelope.clone());
        Ok(1)
    }

    fn parameter_name(&self) -> &str {
        MEMORY_PARAMETER_NAME
    }
}

/// Wraps a store and counts its reads. Several stores may share one counter (one per
/// simulated instance, one total).
#[derive(Debug)]
pub struct CountingStore<S> {
    inner: S,
    loads: Arc<AtomicUsize>,
}

impl<S> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        Self::sharing(inner, Arc::default())
    }

    /// Counts into `loads`, which other stores may count into too.
    pub fn sharing(inner: S, loads: Arc<AtomicUsize>) -> Self {
        Self { inner, loads }
    }

    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

impl<S: TokenStore> TokenStore for CountingStore<S> {
    async fn load(&self) -> Result<Option<TokenEnvelope>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load().await
    }

    async fn save(&self, envelope: &TokenEnvelope) -> Result<i64, StoreError> {
        self.inner.save(envelope).await
    }

    fn parameter_name(&self) -> &str {
        self.inner.parameter_name()
    }
}

/// A parameter as SSM holds it, decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredParameter {
    pub value: String,
    /// `SecureString`, `String` or `StringList`.
    pub parameter_type: String,
}

/// Reads the parameter `name` with decryption; `None` when it does not exist.
///
/// # Panics
/// When SSM fails otherwise: a test cannot go on without knowing what is stored.
pub async fn read_parameter(ssm: &aws_sdk_ssm::Client, name: &str) -> Option<StoredParameter> {
    let output = match ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(output) => output,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|error| error.is_parameter_not_found()) =>
        {
            return None;
        }
        Err(error) => panic!(
            "reading the parameter {name}: {}",
            aws_sdk_ssm::error::DisplayErrorContext(&error)
        ),
    };
    let parameter = output.parameter()?;
    Some(StoredParameter {
        value: parameter.value().unwrap_or_default().to_owned(),
        parameter_type: parameter
            .r#type()
            .map(|kind| kind.as_str().to_owned())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::secret::AccessToken;

    fn envelope() -> TokenEnvelope {
        TokenEnvelope::issue(
            AccessToken::new("memory-store-token-0123"),
            "Bearer",
            None,
            Utc::now(),
            Duration::from_secs(3600),
        )
    }

    #[tokio::test]
    async fn a_memory_store_answers_what_was_saved_and_counts_reads() {
        let store = MemoryStore::new(None);
        assert_eq!(store.load().await.unwrap(), None);
        let saved = envelope();
        store.save(&saved).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(saved));
        assert_eq!(store.loads(), 2);
    }

    #[tokio::test]
    async fn an_unreadable_store_fails_every_read() {
        let store = MemoryStore::unreadable();
        let error = store.load().await.unwrap_err();
        assert_eq!(error.reason, "AccessDeniedException");
        assert_eq!(store.loads(), 1);
    }

    #[tokio::test]
    async fn counting_stores_can_share_one_counter() {
        let total = Arc::new(AtomicUsize::new(0));
        let first = CountingStore::sharing(MemoryStore::new(Some(envelope())), total.clone());
        let second = CountingStore::sharing(MemoryStore::new(None), total.clone());
        assert!(first.load().await.unwrap().is_some());
        assert!(second.load().await.unwrap().is_none());
        assert_eq!(total.load(Ordering::SeqCst), 2);
        assert_eq!(first.parameter_name(), MEMORY_PARAMETER_NAME);
    }
}
