mod dns;
mod e2e;
mod support;
