package sharedlimit

import "github.com/redis/go-redis/v9"

// luaCommon holds the helpers both scripts use. Integers are Lua numbers
// (doubles): exact below 2^53. They are written back with string.format
// ('%d'), never as Lua numbers (which Redis would render as 1e+15).
const luaCommon = `
local MIN = 60000000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nowms = math.floor(now / 1000)
local day = math.floor(tonumber(t[1]) / 86400)
local function I(x) return string.format('%d', x) end
-- refill drains a per-minute bucket (used units, frac unit·µs < MIN,
-- last µs) at limit per minute up to now, exactly: limit·dt is split so
-- that no intermediate exceeds 2^53 for limit < 2^40.
local function refill(used, frac, last, limit)
  if used <= 0 then return 0, 0, now end
  if now <= last then return used, frac, last end
  local dt = now - last
  local a = math.floor(dt / MIN)
  local b = dt - a * MIN
  if a > 0 and a * limit >= used then return 0, 0, now end
  local lh = math.floor(limit / 65536)
  local ll = limit - lh * 65536
  local x = lh * b
  local xq = math.floor(x / MIN)
  local xr = x - xq * MIN
  local inner = xr * 65536 + ll * b + frac
  local iq = math.floor(inner / MIN)
  local q = a * limit + xq * 65536 + iq
  if q >= used then return 0, 0, now end
  return used - q, inner - iq * MIN, now
end
-- wait is how many µs until n more units fit under limit.
local function wait(used, frac, n, limit)
  local need = used + n - limit
  if need <= 0 then return 0 end
  return math.ceil((need * MIN - frac) / limit)
end
local function add(used, frac, delta)
  used = used + delta
  if used <= 0 then return 0, 0 end
  return used, frac
end
local function bucketTTL(used, limit)
  return (120 + math.ceil(used * 60 / limit)) * 1000
end
`

// admitScript admits one call on every matching quota counter and
// hard-limit budget, or on none.
//
// KEYS: [1] the ticket's marker; per quota i: its minute hash, its day
// hash; per budget j: its period hash, its holds sorted set.
// ARGV: [1] ticket id, [2] tokens, [3] nq, [4] nb, [5] marker TTL ms;
// per quota: requests/min, tokens/min, tokens/day; per budget: limit,
// amount (units, decimal string), hold TTL ms, expire-at ms.
//
// Returns {0, sec, usec} admitted (Redis time); {1, kind, window, limit,
// retry µs, tooLarge, quota index}: a quota refused (kind 1 requests, 2
// tokens; window 1 minute, 2 day); {2, budget index, actual, held}: a
// budget refused; {3}: the ticket was already settled or cancelled. A
// retry of an admission that ran (the marker says 'a') answers admitted
// again without counting twice.
var admitScript = redis.NewScript(luaCommon + `
local mark = redis.call('GET', KEYS[1])
if mark == 'a' then return {0, t[1], t[2]} end
if mark then return {3} end
local tokens = tonumber(ARGV[2])
local nq = tonumber(ARGV[3])
local nb = tonumber(ARGV[4])
local ai, ki = 5, 2
local refusal = nil
local st = {}
for i = 1, nq do
  local rpm, tpm, tpd = tonumber(ARGV[ai+1]), tonumber(ARGV[ai+2]), tonumber(ARGV[ai+3])
  ai = ai + 3
  local mk, dk = KEYS[ki], KEYS[ki+1]
  ki = ki + 2
  local s = {}
  local function refuse(kind, window, limit, retry, big)
    if refusal == nil or retry > refusal[5] then refusal = {1, kind, window, limit, retry, big, i} end
  end
  if rpm > 0 or tpm > 0 then
    local m = redis.call('HMGET', mk, 'ru', 'rf', 'rl', 'tu', 'tf', 'tl')
    if rpm > 0 then
      s.ru, s.rf, s.rl = refill(tonumber(m[1]) or 0, tonumber(m[2]) or 0, tonumber(m[3]) or 0, rpm)
      local w = wait(s.ru, s.rf, 1, rpm)
      if w > 0 then refuse(1, 1, rpm, w, 0) end
    end
    if tpm > 0 then
      s.tu, s.tf, s.tl = refill(tonumber(m[4]) or 0, tonumber(m[5]) or 0, tonumber(m[6]) or 0, tpm)
      if tokens > tpm then
        refuse(2, 1, tpm, MIN, 1)
      else
        local w = wait(s.tu, s.tf, tokens, tpm)
        if w > 0 then refuse(2, 1, tpm, w, 0) end
      end
    end
  end
  if tpd > 0 then
    local d = redis.call('HMGET', dk, 'day', 'du')
    s.du = 0
    if tonumber(d[1]) == day then s.du = tonumber(d[2]) or 0 end
    local tmid = (day + 1) * 86400 * 1000000 - now
    if tokens > tpd then
      refuse(2, 2, tpd, tmid, 1)
    elseif s.du + tokens > tpd then
      refuse(2, 2, tpd, tmid, 0)
    end
  end
  st[i] = s
end
if refusal ~= nil then return refusal end
local bi, bk = ai, ki
for j = 1, nb do
  local h, z = KEYS[bk], KEYS[bk+1]
  bk = bk + 2
  local limit, amt = tonumber(ARGV[bi+1]), tonumber(ARGV[bi+2])
  bi = bi + 4
  local expired = redis.call('ZRANGEBYSCORE', z, '-inf', nowms, 'LIMIT', 0, 16)
  for _, tk in ipairs(expired) do
    local v = redis.call('HGET', h, 'h:' .. tk)
    if v then
      redis.call('HINCRBY', h, 'h', '-' .. v)
      redis.call('HDEL', h, 'h:' .. tk)
    end
    redis.call('ZREM', z, tk)
  end
  local hm = redis.call('HMGET', h, 'a', 'h')
  local used = (tonumber(hm[1]) or 0) + (tonumber(hm[2]) or 0)
  if used + amt > limit or (amt == 0 and used >= limit) then
    redis.call('HINCRBY', h, 'r', 1)
    redis.call('PEXPIREAT', h, ARGV[bi])
    return {2, j, hm[1] or '0', hm[2] or '0'}
  end
end
ai, ki = 5, 2
for i = 1, nq do
  local rpm, tpm, tpd = tonumber(ARGV[ai+1]), tonumber(ARGV[ai+2]), tonumber(ARGV[ai+3])
  ai = ai + 3
  local mk, dk = KEYS[ki], KEYS[ki+1]
  ki = ki + 2
  local s = st[i]
  local ttl = 120000
  if rpm > 0 or tpm > 0 then
    if rpm > 0 then
      s.ru, s.rf = add(s.ru, s.rf, 1)
      redis.call('HSET', mk, 'ru', I(s.ru), 'rf', I(s.rf), 'rl', I(s.rl))
      ttl = math.max(ttl, bucketTTL(s.ru, rpm))
    end
    if tpm > 0 then
      s.tu, s.tf = add(s.tu, s.tf, tokens)
      redis.call('HSET', mk, 'tu', I(s.tu), 'tf', I(s.tf), 'tl', I(s.tl))
      ttl = math.max(ttl, bucketTTL(s.tu, tpm))
    end
  end
  redis.call('HINCRBY', mk, 'res', ARGV[2])
  redis.call('HINCRBY', mk, 'inf', 1)
  redis.call('PEXPIRE', mk, I(ttl))
  if tpd > 0 then
    redis.call('HSET', dk, 'day', I(day), 'du', I(s.du + tokens))
    redis.call('EXPIREAT', dk, I((day + 1) * 86400 + 3600))
  end
end
bi, bk = ai, ki
for j = 1, nb do
  local h, z = KEYS[bk], KEYS[bk+1]
  bk = bk + 2
  local amt, ttl, exp = ARGV[bi+2], tonumber(ARGV[bi+3]), ARGV[bi+4]
  bi = bi + 4
  if tonumber(amt) > 0 then
    redis.call('HINCRBY', h, 'h', amt)
    redis.call('HSET', h, 'h:' .. ARGV[1], amt)
    redis.call('ZADD', z, I(nowms + ttl), ARGV[1])
    redis.call('PEXPIREAT', z, exp)
  end
  redis.call('PEXPIREAT', h, exp)
end
redis.call('SET', KEYS[1], 'a', 'PX', ARGV[5])
return {0, t[1], t[2]}
`)

// settleScript applies one settlement (or one reconciliation batch),
// exactly once: the marker KEYS[1] becomes 's'. When the marker says the
// admission is known ('a'), reservations are refunded or charged and
// holds released; otherwise (a reconciliation batch, a cancelled
// admission, or an admission that Redis lost) only what was used is
// added: tokens per day and budget spend.
//
// KEYS: [1] marker; per quota: minute hash, day hash; per budget: the
// admission period's hash, its holds set, the settlement period's hash.
// ARGV: [1] ticket, [2] reserved, [3] admission day, [4] nq, [5] nb,
// [6] marker TTL ms; per quota: tokens/min, tokens/day, used; per budget:
// amount (decimal string), unpriced, calls, active (0/1), expire-at ms.
var settleScript = redis.NewScript(luaCommon + `
local mark = redis.call('GET', KEYS[1])
if mark == 's' then return 0 end
local known = (mark == 'a')
redis.call('SET', KEYS[1], 's', 'PX', ARGV[6])
local reserved = 0
local admitDay = day
if known then
  reserved = tonumber(ARGV[2])
  admitDay = tonumber(ARGV[3])
end
local nq, nb = tonumber(ARGV[4]), tonumber(ARGV[5])
local ai, ki = 6, 2
for i = 1, nq do
  local tpm, tpd, used = tonumber(ARGV[ai+1]), tonumber(ARGV[ai+2]), tonumber(ARGV[ai+3])
  ai = ai + 3
  local mk, dk = KEYS[ki], KEYS[ki+1]
  ki = ki + 2
  local delta = used - reserved
  if known then
    if tpm > 0 then
      local m = redis.call('HMGET', mk, 'tu', 'tf', 'tl')
      local tu, tf, tl = refill(tonumber(m[1]) or 0, tonumber(m[2]) or 0, tonumber(m[3]) or 0, tpm)
      tu, tf = add(tu, tf, delta)
      redis.call('HSET', mk, 'tu', I(tu), 'tf', I(tf), 'tl', I(tl))
      local ttl = math.max(120000, bucketTTL(tu, tpm), redis.call('PTTL', mk))
      redis.call('PEXPIRE', mk, I(ttl))
    end
    if redis.call('EXISTS', mk) == 1 then
      if redis.call('HINCRBY', mk, 'res', I(-reserved)) < 0 then redis.call('HSET', mk, 'res', 0) end
      if redis.call('HINCRBY', mk, 'inf', -1) < 0 then redis.call('HSET', mk, 'inf', 0) end
    end
  end
  if tpd > 0 then
    local d = redis.call('HMGET', dk, 'day', 'du')
    local cday, du = tonumber(d[1]), tonumber(d[2]) or 0
    local write = false
    if cday == admitDay and day == admitDay then
      du = math.max(du + delta, 0)
      write = true
    elseif delta > 0 then
      if cday ~= day then du = 0 end
      du = du + delta
      write = true
    end
    if write then
      redis.call('HSET', dk, 'day', I(day), 'du', I(du))
      redis.call('EXPIREAT', dk, I((day + 1) * 86400 + 3600))
    end
  end
end
local bi, bk = ai, ki
for j = 1, nb do
  local hh, hz, sh = KEYS[bk], KEYS[bk+1], KEYS[bk+2]
  bk = bk + 3
  local amt, unpriced, calls, active, exp = ARGV[bi+1], ARGV[bi+2], ARGV[bi+3], ARGV[bi+4], ARGV[bi+5]
  bi = bi + 5
  if known then
    local v = redis.call('HGET', hh, 'h:' .. ARGV[1])
    if v then
      redis.call('HINCRBY', hh, 'h', '-' .. v)
      redis.call('HDEL', hh, 'h:' .. ARGV[1])
      redis.call('ZREM', hz, ARGV[1])
    end
  end
  if active == '1' then
    redis.call('HINCRBY', sh, 'a', amt)
    redis.call('HINCRBY', sh, 'u', unpriced)
    redis.call('HINCRBY', sh, 'c', calls)
    redis.call('PEXPIREAT', sh, exp)
  end
end
return 1
`)
