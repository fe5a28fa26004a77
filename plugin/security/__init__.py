"""HTTP-level protections every response gets: client address behind a known number of
proxies, and security headers on HTML pages."""
