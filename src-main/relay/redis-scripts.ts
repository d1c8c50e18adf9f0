// Lua scripts for the Redis Streams room log. Each runs atomically inside Redis, which is how
// many relay nodes agree on one order: "check membership, take the next seq, XADD" is a single
// step no other node can interleave with.
//
// Keys of one room (all share a {hash tag}): LOG stream, META hash (field `seq`: last seq),
// MEMBERS hash nick -> owner, LEASES hash nick -> deadline (ms, Redis clock), TOKENS hash
// nick -> hex SHA-256 of the resume token. Stream ids are "<seq>-0", so a seq is its own
// cursor for XREAD/XRANGE and count-trimming is an exact XTRIM MINID.
//
// A member's lease is renewed by its node's heartbeat while attached, and set to now + grace
// when its connection drops. Any script that sweeps releases members whose lease ran out, so
// nicks held by a node that crashed come free without that node.

const PRELUDE = `
local LOG, META, MEMBERS, LEASES, TOKENS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function seq_of(id)
  return tonumber(string.match(id, '^(%d+)'))
end

-- Age trimming looks at the oldest entry only, so an append costs O(1) when nothing is due.
local function trim_age(max_age)
  local cutoff = NOW - max_age
  for _ = 1, 16 do
    local oldest = redis.call('XRANGE', LOG, '-', '+', 'COUNT', 1)
    if #oldest == 0 or tonumber(oldest[1][2][6]) >= cutoff then return end
    local batch = redis.call('XRANGE', LOG, '-', '+', 'COUNT', 256)
    local keep = nil
    for _, entry in ipairs(batch) do
      if tonumber(entry[2][6]) >= cutoff then keep = entry[1] break end
    end
    if keep then redis.call('XTRIM', LOG, 'MINID', keep) return end
    redis.call('XTRIM', LOG, 'MINID', (seq_of(batch[#batch][1]) + 1) .. '-0')
  end
end

local function append(kind, nick, data, max_count, max_age)
  local seq = redis.call('HINCRBY', META, 'seq', 1)
  local min_id = '0-1'
  if seq > max_count then min_id = (seq - max_count + 1) .. '-0' end
  -- Field order is fixed: the reader and trim_age rely on 'at' being the 6th element.
  if data then
    redis.call('XADD', LOG, 'MINID', min_id, seq .. '-0', 't', kind, 'n', nick, 'at', NOW, 'd', data)
  else
    redis.call('XADD', LOG, 'MINID', min_id, seq .. '-0', 't', kind, 'n', nick, 'at', NOW)
  end
  trim_age(max_age)
  return seq
end

local function release(nick, max_count, max_age)
  redis.call('HDEL', MEMBERS, nick)
  redis.call('HDEL', LEASES, nick)
  redis.call('HDEL', TOKENS, nick)
  local seq = append('left', nick, false, max_count, max_age)
  if redis.call('HLEN', MEMBERS) == 0 then
    -- An empty room is forgotten once retention has passed (a join cancels this).
    redis.call('PEXPIRE', LOG, max_age)
    redis.call('PEXPIRE', META, max_age)
  end
  return seq
end

local function sweep(max_count, max_age)
  local leases = redis.call('HGETALL', LEASES)
  for i = 1, #leases, 2 do
    if tonumber(leases[i + 1]) < NOW then release(leases[i], max_count, max_age) end
  end
end

local function others(nick)
  local list = {}
  for _, m in ipairs(redis.call('HKEYS', MEMBERS)) do
    if m ~= nick then table.insert(list, m) end
  end
  return list
end
`;

/** ARGV: nick, owner, token hash, max members, lease ms, max count, max age ms. */
export const JOIN = `${PRELUDE}
local nick, owner, token = ARGV[1], ARGV[2], ARGV[3]
local max_members, lease = tonumber(ARGV[4]), tonumber(ARGV[5])
local max_count, max_age = tonumber(ARGV[6]), tonumber(ARGV[7])
sweep(max_count, max_age)
if redis.call('HEXISTS', MEMBERS, nick) == 1 then return {'NICK_TAKEN'} end
if redis.call('HLEN', MEMBERS) >= max_members then return {'ROOM_FULL'} end
local members = others(nick)
redis.call('PERSIST', LOG)
redis.call('PERSIST', META)
local seq = append('joined', nick, false, max_count, max_age)
redis.call('HSET', MEMBERS, nick, owner)
redis.call('HSET', LEASES, nick, NOW + lease)
redis.call('HSET', TOKENS, nick, token)
return {'OK', seq, NOW, members}
`;

/**
 * ARGV: nick, owner, token hash, since, lease ms, max count, max age ms. The caller has already
 * compared the token hash in constant time; the equality here only guards against the nick
 * having changed hands between that read and this script.
 */
export const RESUME = `${PRELUDE}
local nick, owner, token, since = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local lease, max_count, max_age = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
sweep(max_count, max_age)
local stored = redis.call('HGET', TOKENS, nick)
if not stored then return {'EXPIRED'} end
if stored ~= token then return {'NICK_TAKEN'} end
local head = tonumber(redis.call('HGET', META, 'seq') or '0')
if since > head then return {'AHEAD', head} end
local first = redis.call('XRANGE', LOG, '-', '+', 'COUNT', 1)
local first_seq = head + 1
if #first > 0 then first_seq = seq_of(first[1][1]) end
if since + 1 < first_seq then return {'GAP', first_seq} end
redis.call('HSET', MEMBERS, nick, owner)
redis.call('HSET', LEASES, nick, NOW + lease)
return {'OK', head, others(nick)}
`;

/** ARGV: nick, owner, data, max count, max age ms. */
export const APPEND = `${PRELUDE}
if redis.call('HGET', MEMBERS, ARGV[1]) ~= ARGV[2] then return {'NOT_IN_ROOM'} end
local seq = append('message', ARGV[1], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]))
return {'OK', seq, NOW}
`;

/** Leave and expire alike. ARGV: nick, owner, max count, max age ms. */
export const RELEASE = `${PRELUDE}
if redis.call('HGET', MEMBERS, ARGV[1]) ~= ARGV[2] then return {'NOT_IN_ROOM'} end
local seq = release(ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4]))
return {'OK', seq, NOW}
`;

/** ARGV: nick, owner, grace ms. */
export const DETACH = `${PRELUDE}
if redis.call('HGET', MEMBERS, ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', LEASES, ARGV[1], NOW + tonumber(ARGV[3]))
return 1
`;

/** Renews this node's attached members, then sweeps. ARGV: lease ms, max count, max age ms,
 *  then nick, owner pairs. */
export const HEARTBEAT = `${PRELUDE}
local lease, max_count, max_age = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 4, #ARGV, 2 do
  if redis.call('HGET', MEMBERS, ARGV[i]) == ARGV[i + 1] then
    redis.call('HSET', LEASES, ARGV[i], NOW + lease)
  end
end
sweep(max_count, max_age)
return 1
`;

export const SCRIPTS = { JOIN, RESUME, APPEND, RELEASE, DETACH, HEARTBEAT } as const;
export type ScriptName = keyof typeof SCRIPTS;
