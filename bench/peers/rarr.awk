# rarr.awk -- the built-in rules' five counts per minute, in awk, for the
# throughput comparison (bench/compare.sh). Split on double quotes: $2 is
# the request, $3 holds the status; the minute is the time up to ":SS".
# awk's ERE has no \b: a word end is a non-word byte or the end.
BEGIN { FS = "\"" }
{
    split($3, s, " ")
    st = s[1]
    minute = substr($1, index($1, "[") + 1, 17)
    r = $2
    if (r ~ /^GET \/(login|log-in|signin|sign-in|sign_in|users\/sign_in|session\/new|auth\/login)([^A-Za-z0-9_]|$)/)
        login[minute]++
    if (r ~ /^GET \/(dashboard|home)([^A-Za-z0-9_]|$)/ && st ~ /^2/)
        dash[minute]++
    if (r ~ /^POST \/(signup|sign-up|sign_up|register|registration|users\/sign_up|join)([^A-Za-z0-9_]|$)/ && st ~ /^(20[01]|30[23])$/)
        signup[minute]++
    if (r ~ /^POST \/(billing\/|api\/(v[0-9]+\/)?)?(subscribe|subscriptions?|checkout|purchase|orders?)([^A-Za-z0-9_]|$)/ && st ~ /^(2|30[23])/)
        sub_[minute]++
    if (r ~ /^GET (\/(pricing|features|blog|landing|about|customers|product)([^A-Za-z0-9_]|$)|\/(\?| |$))/ && st ~ /^[23]/)
        mkt[minute]++
    seen[minute] = 1
}
END {
    for (m in seen)
        n++
    for (m in login) a += login[m]
    for (m in dash) b += dash[m]
    for (m in signup) c += signup[m]
    for (m in sub_) d += sub_[m]
    for (m in mkt) e += mkt[m]
    printf "minutes %d login %d dashboard %d signups %d subscriptions %d marketing %d\n", n, a, b, c, d, e
}
