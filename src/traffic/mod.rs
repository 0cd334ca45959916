//! Traffic: what Heroku's router says about every request, turned into per-minute figures.
pub mod event;
pub mod logplex;
pub mod minute;
pub mod router;
