mod dns;
mod doh;
mod e2e;
mod http;
mod integrations;
mod support;
