// A page of names from a statement that selects one name column with LIMIT limit + 1: the
// extra row, when there is one, only says that more remain.
#pragma once

#include <string>

#include "meta/meta_store.h"
#include "meta/sql/sql_conn.h"

namespace arca::sql {

inline Result<Page<std::string>> NamePage(Stmt& q, size_t limit) {
  Page<std::string> page;
  while (q.Step()) page.items.push_back(q.Text(0));
  ARCA_RETURN_IF_ERROR(q.status());
  if (page.items.size() > limit) {
    page.items.pop_back();
    page.more = true;
  }
  return page;
}

}  // namespace arca::sql
