# shop-fixture.awk -- make fixtures/logs/shop.log: three hours of a small
# shop's combined log with a payment outage from 14:00 to 14:30 (orders fail
# with 502). Deterministic: awk's srand(seed) with a fixed seed.
#   awk -f scripts/shop-fixture.awk > fixtures/logs/shop.log
function line(t, ip, req, st, by) {
    printf "%s - - [04/May/2026:%02d:%02d:%02d +0000] \"%s HTTP/1.1\" %d %d \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0\"\n",
        ip, int(t / 3600), int(t % 3600 / 60), t % 60, req, st, by
}
BEGIN {
    srand(42)
    for (t = 13 * 3600; t < 16 * 3600; t++) {
        if (rand() < 0.5)
            line(t, "198.51.100." int(rand() * 250 + 1), "GET /products/" int(rand() * 90 + 1), 200, 12000)
        if (rand() < 0.08) {
            ip = "203.0.113." int(rand() * 250 + 1)
            line(t, ip, "POST /cart/add", 302, 0)
            if (rand() < 0.5) {
                line(t, ip, "GET /checkout", 200, 8000)
                outage = t >= 14 * 3600 && t < 14 * 3600 + 1800
                line(t, ip, "POST /checkout/complete", outage ? 502 : 303, 0)
            }
        }
    }
}
