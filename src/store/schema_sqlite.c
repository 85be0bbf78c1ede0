/* schema_sqlite.c — SQLite migrations; version N is entry N-1. Never edit a shipped entry. */
/* Ids use AUTOINCREMENT: a deleted contact's id is never handed to someone else. */
#include <stddef.h>

extern const char *const kz_sqlite_migrations[];

const char *const kz_sqlite_migrations[] = {
	/* 1: users, keys, settings, companies, contacts, tags, custom fields */
	"CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE, name TEXT,"
	"  role TEXT NOT NULL, password_hash TEXT, active INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE TABLE api_keys ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, role TEXT NOT NULL, prefix TEXT NOT NULL,"
	"  key_hash TEXT NOT NULL UNIQUE, user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	"  created_at INTEGER NOT NULL, last_used_at INTEGER, revoked_at INTEGER);"
	"CREATE TABLE companies ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, name_fold TEXT NOT NULL, domain TEXT,"
	"  fields TEXT NOT NULL DEFAULT '{}',"
	"  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE INDEX companies_domain ON companies(domain);"
	"CREATE INDEX companies_name_fold ON companies(name_fold);"
	"CREATE TABLE contacts ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE,"
	"  first_name TEXT, last_name TEXT, first_name_kana TEXT, last_name_kana TEXT,"
	"  phone TEXT, company_id INTEGER REFERENCES companies(id) ON DELETE SET NULL,"
	"  owner_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	"  timezone TEXT, locale TEXT, fields TEXT NOT NULL DEFAULT '{}',"
	"  search TEXT NOT NULL DEFAULT '', name_fold TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE INDEX contacts_company ON contacts(company_id);"
	"CREATE INDEX contacts_owner ON contacts(owner_id);"
	"CREATE INDEX contacts_phone ON contacts(phone);"
	"CREATE INDEX contacts_name_fold ON contacts(name_fold);"
	"CREATE INDEX contacts_created ON contacts(created_at, id);"
	"CREATE INDEX contacts_updated ON contacts(updated_at, id);"
	"CREATE INDEX contacts_last_name ON contacts(last_name, id);"
	"CREATE TABLE contact_tags ("
	"  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	"  tag TEXT NOT NULL, PRIMARY KEY (contact_id, tag));"
	"CREATE INDEX contact_tags_tag ON contact_tags(tag, contact_id);"
	"CREATE TABLE fields ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, label TEXT NOT NULL,"
	"  type TEXT NOT NULL, options TEXT,"
	"  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);",
	/* 2: browser sessions of the admin UI */
	"CREATE TABLE sessions ("
	"  token_hash TEXT PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  csrf TEXT NOT NULL, created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL);"
	"CREATE INDEX sessions_user ON sessions(user_id);",
	/* 3: tracking — sites, visitors (anonymous identities), web sessions, events and
	 * first/last-touch attribution per contact. visitors.site_id is 0 for identities seen
	 * only through the server API and -1 for server-side userIds (anon_id holds the userId).
	 * events use a plain rowid (no AUTOINCREMENT bookkeeping on the hot insert path). */
	"CREATE TABLE sites ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, site_key TEXT NOT NULL UNIQUE,"
	"  allowed_origins TEXT NOT NULL DEFAULT '[]', bot_filter INTEGER NOT NULL DEFAULT 1,"
	"  anonymize_ip INTEGER NOT NULL DEFAULT 0, respect_dnt INTEGER NOT NULL DEFAULT 0,"
	"  retention_days INTEGER NOT NULL DEFAULT 400,"
	"  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE TABLE visitors ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, site_id INTEGER NOT NULL DEFAULT 0,"
	"  anon_id TEXT NOT NULL, contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,"
	"  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, ip TEXT, user_agent TEXT,"
	"  first_touch TEXT, last_touch TEXT, last_direct INTEGER NOT NULL DEFAULT 1);"
	"CREATE UNIQUE INDEX visitors_anon ON visitors(anon_id, site_id);"
	"CREATE INDEX visitors_contact ON visitors(contact_id);"
	"CREATE INDEX visitors_last_seen ON visitors(last_seen, id);"
	"CREATE TABLE sessions_web ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  visitor_id INTEGER NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,"
	"  contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,"
	"  started_at INTEGER NOT NULL, last_at INTEGER NOT NULL, landing_url TEXT, source TEXT,"
	"  medium TEXT, campaign TEXT, referrer_domain TEXT, page_count INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX sessions_web_visitor ON sessions_web(visitor_id, last_at);"
	"CREATE INDEX sessions_web_contact ON sessions_web(contact_id, started_at);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,"
	"  visitor_id INTEGER REFERENCES visitors(id) ON DELETE CASCADE,"
	"  site_id INTEGER, type TEXT NOT NULL, name TEXT NOT NULL,"
	"  properties TEXT NOT NULL DEFAULT '{}', context TEXT NOT NULL DEFAULT '{}',"
	"  message_id TEXT, occurred_at INTEGER NOT NULL, received_at INTEGER NOT NULL,"
	"  session_id INTEGER);"
	"CREATE UNIQUE INDEX events_message ON events(message_id) WHERE message_id IS NOT NULL;"
	"CREATE INDEX events_contact ON events(contact_id, occurred_at, id);"
	"CREATE INDEX events_visitor ON events(visitor_id, occurred_at, id);"
	"CREATE INDEX events_name ON events(name, occurred_at);"
	"CREATE TABLE contact_attribution ("
	"  contact_id INTEGER PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,"
	"  first_touch TEXT, first_at INTEGER, last_touch TEXT, last_at INTEGER,"
	"  last_direct INTEGER NOT NULL DEFAULT 1);",
	/* 4: event retention — daily per-contact counts outlive the raw events they summarise;
	 * pruning walks events by time. */
	"CREATE TABLE event_rollups ("
	"  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	"  day INTEGER NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL,"
	"  PRIMARY KEY (contact_id, day, name));"
	"CREATE INDEX events_occurred ON events(occurred_at);",
	/* 5: list sorts by name and email use indexes on the exact sort expressions */
	"DROP INDEX contacts_last_name;"
	"CREATE INDEX contacts_last_name ON contacts((COALESCE(last_name, '')), id);"
	"CREATE INDEX contacts_first_name ON contacts((COALESCE(first_name, '')), id);"
	"CREATE INDEX contacts_email_sort ON contacts((COALESCE(email, '')), id);",
	"/* 6: reserved for tracking */ SELECT 1;",
	/* 7: the audience — segments and their members (static lists, and the kept membership of
	 * dynamic segments), scoring rules, scores by category with their log, lifecycle stages
	 * with their history. Per-person tables lead with contact_id. */
	"CREATE TABLE segments ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, type TEXT NOT NULL,"
	"  filter TEXT, description TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE TABLE segment_members ("
	"  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	"  segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,"
	"  added_at INTEGER NOT NULL, PRIMARY KEY (contact_id, segment_id));"
	"CREATE INDEX segment_members_segment ON segment_members(segment_id, contact_id);"
	"CREATE TABLE scoring_rules ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL,"
	"  rule TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE TABLE contact_scores ("
	"  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	"  category TEXT NOT NULL, points INTEGER NOT NULL, last_activity_at INTEGER NOT NULL,"
	"  decay_steps INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (contact_id, category));"
	"CREATE TABLE score_log ("
	"  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  rule_id INTEGER, category TEXT NOT NULL, points INTEGER NOT NULL, reason TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX score_log_contact ON score_log(contact_id, rule_id, at);"
	"CREATE TABLE contact_stages ("
	"  contact_id INTEGER PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,"
	"  stage TEXT NOT NULL, since INTEGER NOT NULL);"
	"CREATE TABLE stage_history ("
	"  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, stage TEXT NOT NULL, previous TEXT, reason TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX stage_history_contact ON stage_history(contact_id, at);",
	NULL,
};
