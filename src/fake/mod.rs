//! Pure fakes of every provider (placeholder: being written).
