"""Code both frontends share: drawings made from measurements, service clients, form helpers."""
