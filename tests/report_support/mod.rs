//! Support for the HTML report's browser test and its screenshot example: a synthetic week of
//! data ([`week`]) and headless Chromium run with a deadline ([`chromium`]).

#![allow(dead_code)] // the test and the example each use their own part

pub mod chromium;
pub mod week;
