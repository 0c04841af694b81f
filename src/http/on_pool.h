// Inside http/ only: running blocking work on a worker pool from a connection's coroutine.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/worker_pool.h"

namespace arca::http {

// Runs f on the worker pool and resumes the awaiting coroutine on its own executor. When
// the pool can take no task (no thread could be started at all), f runs here instead: slow,
// but the request is answered rather than lost.
template <class F>
boost::asio::awaitable<void> OnPool(WorkerPool& pool, F& f) {
  return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void()>(
      [&pool, &f](auto handler) {
        auto task = MakeTask([&f, handler = std::move(handler)]() mutable {
          f();
          auto ex = boost::asio::get_associated_executor(handler);
          boost::asio::post(ex, [h = std::move(handler)]() mutable { std::move(h)(); });
        });
        if (auto refused = pool.Submit(std::move(task))) refused->Run();
      },
      boost::asio::use_awaitable);
}

}  // namespace arca::http
