mod dns;
mod doh;
mod e2e;
mod examples;
mod hooks;
mod http;
mod integrations;
mod support;
