mod dns;
mod e2e;
mod http;
mod support;
