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
	NULL,
};
