// Private to src/http/: the one place that includes Boost.Asio and Beast.
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>; include it first.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
