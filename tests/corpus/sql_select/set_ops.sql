select city from customers union all select city from suppliers except select city from blocked_cities order by city;
