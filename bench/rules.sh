#!/bin/sh
# rules.sh N -- N realistic rules for the throughput comparison: metrics on
# paths (anchored), request lines, methods, statuses, referers and user
# agents (unanchored), some with two or three conditions, plus a few ratios
# and alerts. Deterministic.
n=${1:-20}
awk -v n="$n" 'BEGIN {
    split("login signup register checkout cart pricing blog docs api/v1/projects api/v1/users " \
          "api/v2/orders dashboard settings billing invoices search help status admin export", w, " ")
    split("200 201 204 301 302 304 400 401 403 404 500 502 503", st, " ")
    split("google bing duckduckgo twitter facebook linkedin news.ycombinator reddit", ref, " ")
    split("Googlebot bingbot Slackbot curl python-requests Go-http-client iPhone Android Firefox Edg", ua, " ")
    print "define ID \x27[0-9]+\x27"
    for (i = 0; i < n; i++) {
        k = i % 7
        p = w[i % 20 + 1]
        if (k == 0)
            printf "metric m%d path~\x27^/%s(/|$)\x27 status~\x27^[23]\x27\n", i, p
        else if (k == 1)
            printf "metric m%d request~\x27^(GET|POST) /%s/%%{ID}\\b\x27\n", i, p
        else if (k == 2)
            printf "metric m%d method=POST path~\x27^/%s\x27 status~\x27^%s$\x27\n", i, p, st[i % 13 + 1]
        else if (k == 3)
            printf "metric m%d referer~\x27%s\\.\x27 path~\x27^/(%s|pricing)?$\x27\n", i, ref[i % 8 + 1], p
        else if (k == 4)
            printf "metric m%d user_agent~\x27%s\x27\n", i, ua[i % 10 + 1]
        else if (k == 5)
            printf "metric m%d status~\x27^5\x27 path~\x27^/%s\x27\n", i, p
        else
            printf "metric m%d request~\x27%s.*\\?(q|utm_source)=\x27 bytes~\x27^[0-9]{4,}$\x27\n", i, p
    }
    for (i = 0; i + 5 < n && i < 40; i += 7)
        printf "ratio r%d = m%d / m%d * 100 min=10\nalert r%d window=15m below=20 for=5m\n", i, i, i + 5, i
    for (i = 2; i < n && i < 30; i += 7)
        printf "alert m%d window=5m above=1000\n", i
}'
